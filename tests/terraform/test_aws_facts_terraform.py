"""`!aws.*` on the real test bed: moto's caller identity, region and organization reach real
terraform through the tiny repo's `identity` stack (stacks/identity.yaml)."""

from __future__ import annotations


import pytest

from .cli import run_json

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.xdist_group("terraform-tiny"),
]

MOTO_ACCOUNT = "123456789012"  # the account moto answers every caller with


def _organization_id(organizations) -> str:
    """The test bed's organization, created the first time (moto keeps one per server)."""
    try:
        return organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    except organizations.exceptions.AlreadyInOrganizationException:
        return organizations.describe_organization()["Organization"]["Id"]


def test_caller_identity_region_and_organization_reach_terraform(sandbox, sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    identity = sandbox.client("sts").get_caller_identity()
    assert identity["Account"] == MOTO_ACCOUNT
    organization = _organization_id(sandbox.client("organizations"))
    assert organization.startswith("o-")

    code, results = run_json(capsys, "deploy", repo, "identity")
    assert code == 0, results
    assert {k: r["status"] for k, r in results.items()} == {
        "identity/queue": "succeeded", "identity/caller": "succeeded", "identity/topic": "succeeded"}

    sqs = sandbox.client("sqs")
    # queue: `name: !aws.account_id`, `label: !aws.region`
    queue_url = sqs.get_queue_url(QueueName=f"tiny-identity-{MOTO_ACCOUNT}")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"stage": "identity", "label": "us-east-1"}
    assert sandbox_env["AWS_REGION"] == "us-east-1"
    # caller: `name: !aws.caller_identity_user_id`, `label: !aws.caller_identity_arn`
    caller_url = sqs.get_queue_url(QueueName=f"tiny-identity-{identity['UserId']}")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=caller_url)["Tags"] == {"stage": "identity", "label": identity["Arn"]}
    assert identity["Arn"] == f"arn:aws:sts::{MOTO_ACCOUNT}:user/moto"
    # topic: `name: !aws.organization_id`, the queue's child
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = sandbox.client("sns")
    topic_arn = f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:tiny-identity-{organization}"
    assert topic_arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]}
    assert tags == {"source_queue": queue_arn}

    # the same facts next run: nothing to change
    code, results = run_json(capsys, "plan", repo, "identity")
    assert code == 0
    assert {k: r["status"] for k, r in results.items()} == {
        "identity/queue": "no changes", "identity/caller": "no changes", "identity/topic": "no changes"}


def test_an_unset_region_fails_its_instance_in_one_line_and_skips_its_children(
    sandbox, sandbox_env, fixture_repo, capsys, monkeypatch, tmp_path
):
    repo = fixture_repo("tiny")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):  # the providers name their region
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    code, results = run_json(capsys, "deploy", repo, "identity/queue", "identity/topic")
    assert code == 1
    queue, topic = results["identity/queue"], results["identity/topic"]
    assert (queue["status"], queue["reason"], queue["cause"]) == (
        "failed", "run error", "identity/queue: !aws.region: no AWS region is set (AWS_REGION, AWS_DEFAULT_REGION "
                               "or the AWS profile's region)")
    assert (topic["status"], topic["reason"], topic["cause"]) == ("skipped", "ancestor failed", "identity/queue")
    # nothing was planned or applied: no state for either instance
    assert not [k for k in sandbox.state_keys(sandbox_env["TF_STATE_BUCKET"]) if "identity" in k]
