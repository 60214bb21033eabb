"""The walking skeleton on the real test bed: real terraform, real moto, a real Prefect engine."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from stackflow.cli import main

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.xdist_group("terraform-tiny"),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every path under root with its type, mode and content hash."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                snap[rel] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                snap[rel] = f"dir:{st.st_mode:o}"
            else:
                snap[rel] = f"file:{st.st_mode:o}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    return snap


def _deploy(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["deploy", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_two_instances_of_one_component_folder_apply_at_once_without_interfering(
    sandbox, sandbox_env, fixture_repo, capsys
):
    repo = fixture_repo("tiny")
    code, out, err = _deploy(capsys, "--repo", str(repo), "--stack", "twins", "--parallelism", "2",
                             "--format", "json")
    assert code == 0, err
    import json

    results = {f"{r['stack']}/{r['component']}": r for r in json.loads(out)}
    assert {k: r["status"] for k, r in results.items()} == {
        "twins/queue-a": "succeeded", "twins/queue-b": "succeeded", "twins/topic": "succeeded"}
    # each instance has its own state (derived components: workspace <stack>-<component>)
    keys = set(sandbox.state_keys(sandbox_env["TF_STATE_BUCKET"]))
    assert {"queue/twins-queue-a/terraform.tfstate", "queue/twins-queue-b/terraform.tfstate"} <= keys
    sqs = sandbox.client("sqs")
    names = {url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])}
    assert {"tiny-twins-alpha", "tiny-twins-beta"} <= names
    # the child got queue-a's real ARN through !terraform.output in the same run
    sns = sandbox.client("sns")
    topic_arn = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":tiny-twins-notify"))
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]}
    assert tags["source_queue"].endswith(":tiny-twins-alpha")

    # a second run changes nothing
    code, out, err = _deploy(capsys, "--repo", str(repo), "--stack", "twins", "--format", "json")
    assert code == 0, err
    assert {r["status"] for r in json.loads(out)} == {"no changes"}


def test_atmos_component_output_in_a_template_reaches_the_child_after_its_parent_applied(
    sandbox, sandbox_env, fixture_repo, capsys
):
    import json

    repo = fixture_repo("tiny")
    code, out, err = _deploy(capsys, "--repo", str(repo), "--stack", "templated", "--format", "json")
    assert code == 0, err
    results = {f"{r['stack']}/{r['component']}": r["status"] for r in json.loads(out)}
    assert results == {"templated/queue": "succeeded", "templated/topic": "succeeded"}
    # `{{ (atmos.Component "queue" .stack).outputs.queue_arn }}` became the queue's real ARN
    sns = sandbox.client("sns")
    topic_arn = next(t["TopicArn"] for t in sns.list_topics()["Topics"]
                     if t["TopicArn"].endswith(":tiny-templated-fanout"))
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"]}
    queue_url = sandbox.client("sqs").get_queue_url(QueueName="tiny-templated-source")["QueueUrl"]
    queue_arn = sandbox.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert tags["source_queue"] == queue_arn


def test_terraform_error_is_one_line_naming_the_instance_and_skips_only_its_children(
    sandbox_env, fixture_repo
):
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    repo = fixture_repo("tiny")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    # the real command line, as a user runs it: one line per instance, no traceback
    proc = subprocess.run([sys.executable, "-m", "stackflow", "deploy", "--repo", str(repo),
                           "--stack", "broken"], env=env, capture_output=True, text=True, timeout=600)
    code, out, err = proc.returncode, proc.stdout, proc.stderr
    assert code == 1
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "failed" in lines["broken/vpc"]
    assert "broken/vpc: terraform plan failed (exit 1): Error:" in lines["broken/vpc"]
    assert "skipped" in lines["broken/subnet"] and "ancestor failed: broken/vpc" in lines["broken/subnet"]
    # the unrelated sibling ran (applied now, or already applied by an earlier test on this bed)
    assert lines["broken/queue"].split()[1] in ("succeeded", "no")
    assert "1 instance(s) failed" in err
    assert "Traceback" not in out + err


def test_users_repo_is_left_byte_for_byte_untouched(sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    before = _snapshot(repo)
    code, _, err = _deploy(capsys, "--repo", str(repo), "--stack", "twins/queue-b")
    assert code == 0, err
    assert _snapshot(repo) == before
