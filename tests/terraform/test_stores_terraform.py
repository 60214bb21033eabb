"""`!store` / `!store.get` on the real test bed: values written to moto's SSM and Secrets Manager
with boto3 reach real terraform through the tiny repo's `stored` stack (stacks/stored.yaml)."""

from __future__ import annotations

import json
import uuid

import pytest

from .cli import run_json

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.xdist_group("terraform-tiny"),
]


def _forget_parameter(ssm, name: str) -> None:
    try:
        ssm.delete_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        pass


def _put_secret(secrets, name: str, value: str) -> None:
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=name, SecretString=value)


def test_store_values_from_ssm_and_secrets_manager_reach_terraform(sandbox, sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    run = uuid.uuid4().hex[:8]
    ssm, secrets = sandbox.client("ssm"), sandbox.client("secretsmanager")
    # `!store ssm queue name` in stack `stored`: prefix /tiny + stack + component + key; a
    # SecureString, so the value only comes back decrypted
    ssm.put_parameter(Name="/tiny/stored/queue/name", Value=f"orders-{run}", Type="SecureString",
                      Overwrite=True)
    # `!store.get secrets tiny/stored/labels | query .queue`: a JSON secret, queried
    _put_secret(secrets, "tiny/stored/labels", json.dumps({"queue": f"label-{run}", "other": "x"}))
    # `!store ssm "elsewhere" topic name | default 'fan-out'`: never written, so the default
    _forget_parameter(ssm, "/tiny/elsewhere/topic/name")

    code, results = run_json(capsys, "deploy", repo, "stored/queue", "stored/topic")
    assert code == 0, results
    assert {k: r["status"] for k, r in results.items()} == {"stored/queue": "succeeded",
                                                            "stored/topic": "succeeded"}
    sqs = sandbox.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=f"tiny-stored-orders-{run}")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"stage": "stored", "label": f"label-{run}"}
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = sandbox.client("sns")
    topic_arn = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                     if t["TopicArn"].endswith(":tiny-stored-fan-out"))
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]}
    assert tags == {"source_queue": queue_arn}

    # a changed parameter is read again by the next run: the queue is replaced under its new name
    ssm.put_parameter(Name="/tiny/stored/queue/name", Value=f"renamed-{run}", Type="String", Overwrite=True)
    code, results = run_json(capsys, "plan", repo, "stored/queue")
    assert code == 0 and results["stored/queue"]["status"] == "succeeded"
    assert (results["stored/queue"]["add"], results["stored/queue"]["destroy"]) == (1, 1)


def test_a_missing_parameter_without_default_fails_its_instance_in_one_line_and_skips_its_children(
    sandbox, sandbox_env, fixture_repo, capsys
):
    repo = fixture_repo("tiny")
    _forget_parameter(sandbox.client("ssm"), "/tiny/stored/lonely/name")
    expected = ("stored/lonely: !store ssm lonely name: no parameter '/tiny/stored/lonely/name' in store "
                "'ssm' (aws-ssm-parameter-store)")
    for command in ("plan", "deploy"):  # a plan fails it too: the value is missing, not merely unknown yet
        code, results = run_json(capsys, command, repo, "stored/lonely", "stored/lonely-topic")
        assert code == 1
        lonely, child = results["stored/lonely"], results["stored/lonely-topic"]
        assert (lonely["status"], lonely["reason"], lonely["cause"]) == ("failed", "run error", expected)
        assert (child["status"], child["reason"], child["cause"]) == ("skipped", "ancestor failed", "stored/lonely")
    # nothing was planned or applied: no state for either instance
    keys = sandbox.state_keys(sandbox_env["TF_STATE_BUCKET"])
    assert not [k for k in keys if "stored" in k]
