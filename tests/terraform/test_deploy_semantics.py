"""Deploy-flow guarantees on real terraform: reviewed plans only, fresh outputs, retries, destroy order."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from stackflow.flows.deploy import deploy, run_graph
from stackflow.flows.steps import TerraformSteps
from stackflow.settings import load_settings
from stackflow.stacks_loader.selection import select_target

from .cli import run_json

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.xdist_group("terraform-tiny"),
]


def _task_windows(flow_run_id) -> dict[str, tuple]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {r.name: (r.start_time, r.end_time) for r in runs}


def test_tampered_plan_is_refused_and_nothing_is_applied(sandbox, sandbox_env, fixture_repo):
    repo = fixture_repo("tiny")
    settings = load_settings()
    target = select_target(repo, settings.environ(), ["tamper"])

    class TamperingSteps(TerraformSteps):
        def plan(self, instance, resolved_vars, **kw):
            result = super().plan(instance, resolved_vars, **kw)
            Path(result.plan_uri).write_bytes(b"not the plan that was reviewed")
            return result

    @flow(name="tamper-test")
    def _run():
        steps = TamperingSteps(repo, settings, "tamper-run", "")
        return run_graph(target.graph, target.instances, steps)

    (outcome,) = _run()
    assert outcome.status == "failed"
    assert "tamper/queue: plan file" in outcome.cause and "nothing applied" in outcome.cause
    queues = sandbox.client("sqs").list_queues().get("QueueUrls", [])
    assert not any(url.endswith("tiny-tamper-reviewed") for url in queues)


def test_changed_parent_output_reaches_the_child_in_the_same_apply_run(sandbox, sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    # a stack of its own (the twins' resources in another stage): the AWS names it changes are
    # not the ones other tests on this test bed read
    stack_file = repo / "stacks" / "relay.yaml"
    stack_file.write_text((repo / "stacks" / "twins.yaml").read_text().replace("stage: twins", "stage: relay"))
    code, _ = run_json(capsys, "deploy", repo, "relay")
    assert code == 0
    stack_file.write_text(stack_file.read_text().replace("name: alpha", "name: gamma"))
    code, out = run_json(capsys, "deploy", repo, "relay")
    assert code == 0
    assert (out["relay/queue-a"]["add"], out["relay/queue-a"]["destroy"]) == (1, 1)  # replaced
    assert out["relay/topic"]["change"] == 1
    sns = sandbox.client("sns")
    arn = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":tiny-relay-notify"))
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags["source_queue"].endswith(":tiny-relay-gamma")


def _wait_for_retry(task_name: str, timeout: float = 180.0) -> bool:
    """True once Prefect shows `task_name` failed once and is being retried."""
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[task_name])))
            if any(r.run_count >= 2 or (r.state and r.state.name in ("AwaitingRetry", "Retrying"))
                   for r in runs):
                return True
            time.sleep(0.2)
    return False


def test_state_lock_held_briefly_is_retried_to_success(sandbox, sandbox_env, fixture_repo, capsys, monkeypatch):
    monkeypatch.setenv("STACKFLOW_RETRIES", "4")
    repo = fixture_repo("tiny")
    table = sandbox.client("dynamodb")
    lock_id = f"{sandbox_env['TF_STATE_BUCKET']}/queue/transient/terraform.tfstate"
    table.put_item(TableName=sandbox.lock_table, Item={
        "LockID": {"S": lock_id},
        "Info": {"S": json.dumps({"ID": "someone-else", "Operation": "OperationTypeApply", "Who": "ci"})},
    })

    def release_soon():
        # held until terraform has failed on it once: the failure is real, not timed
        _wait_for_retry("plan transient/queue")
        table.delete_item(TableName=sandbox.lock_table, Key={"LockID": {"S": lock_id}})

    releaser = threading.Thread(target=release_soon)
    releaser.start()
    try:
        code, out = run_json(capsys, "deploy", repo, "transient")
    finally:
        releaser.join()
    assert code == 0, out
    assert out["transient/queue"]["status"] == "succeeded"
    assert out["transient/queue"]["attempts"] >= 2


def test_non_transient_failure_is_not_retried_and_disabled_instances_are_excluded(sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    code, out = run_json(capsys, "deploy", repo, "broken")
    assert code == 1
    assert out["broken/vpc"]["status"] == "failed" and out["broken/vpc"]["attempts"] == 1
    assert (out["broken/old-queue"]["status"], out["broken/old-queue"]["reason"]) == (
        "excluded", "metadata.enabled is false")


def test_destroy_removes_children_before_their_parents(sandbox, sandbox_env, fixture_repo):
    repo = fixture_repo("tiny")
    deploy(repo=str(repo), stacks=["twins"])
    state = deploy(repo=str(repo), stacks=["twins"], mode="destroy", return_state=True)
    outcomes = {f"{o['stack']}/{o['component']}": o for o in state.result()}
    assert {o["status"] for o in outcomes.values()} == {"succeeded"}
    assert outcomes["twins/topic"]["destroy"] == 1
    windows = _task_windows(state.state_details.flow_run_id)
    assert windows["apply twins/topic"][1] <= windows["plan twins/queue-a"][0]
    names = {url.rsplit("/", 1)[-1] for url in sandbox.client("sqs").list_queues().get("QueueUrls", [])}
    assert "tiny-twins-alpha" not in names


def test_the_state_of_an_abstract_component_is_read_from_its_backend_alone(sandbox, sandbox_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    stacks = repo / "stacks"
    # the queue another repo deploys: here, a stack of its own deployed first
    (stacks / "elsewhere.yaml").write_text(
        "import: [_defaults]\nvars: {stage: elsewhere}\ncomponents: {terraform: {queue: {vars: {name: made}}}}\n")
    code, _ = run_json(capsys, "deploy", repo, "elsewhere")
    assert code == 0
    # read as Cloud Posse's examples read a cluster of another repo: an abstract component whose
    # folder is not in this repo, with that state's backend and workspace
    reader = textwrap.dedent("""\
        import: [_defaults]
        vars: {stage: STAGE}
        components:
          terraform:
            queue-made-elsewhere:
              metadata: {type: abstract, component: not-in-this-repo, terraform_workspace: WORKSPACE}
              backend: {s3: {workspace_key_prefix: queue}}
            topic:
              vars:
                name: notify
                queue_arn: !terraform.state queue-made-elsewhere .queue_arn
    """)
    (stacks / "reader.yaml").write_text(reader.replace("STAGE", "reader").replace("WORKSPACE", "elsewhere"))
    code, out = run_json(capsys, "deploy", repo, "reader")
    assert code == 0 and set(out) == {"reader/topic"}  # the abstract one is read, never deployed
    sns = sandbox.client("sns")
    arn = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":tiny-reader-notify"))
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert tags["source_queue"].endswith(":tiny-elsewhere-made")

    # a workspace with no state: the reader fails, and the workspace is never created in that backend
    (stacks / "stray.yaml").write_text(reader.replace("STAGE", "stray").replace("WORKSPACE", "nowhere"))
    code, out = run_json(capsys, "deploy", repo, "stray")
    assert code != 0 and out["stray/topic"]["status"] == "failed"
    assert out["stray/topic"]["cause"] == (
        "stray/topic: outputs of stray/queue-made-elsewhere could not be read: stray/queue-made-elsewhere: abstract, "
        "and its s3 backend has no workspace 'nowhere': no state to read")
    keys = [o["Key"] for o in sandbox.s3_client().list_objects_v2(Bucket=sandbox_env["TF_STATE_BUCKET"])["Contents"]]
    assert not any("nowhere" in key for key in keys), keys
