"""Approval gates against a real Prefect server, answered from other processes: the CLI, REST.

The demo flow (gate_flow.py) calls each gate from a task on a thread pool, as the deploy flow
does, next to a `sibling` task that has no gate.
"""

from __future__ import annotations

import time
import urllib.error

import pytest

pytestmark = [pytest.mark.prefect_server, pytest.mark.xdist_group("approvals")]

LONG = 600  # seconds: gates that must not time out during the test


def _events(server, name: str, instance: str) -> list[dict]:
    page = server.request("POST", "/events/filter", {
        "filter": {"event": {"name": [name]},
                   "resource": {"labels": {"stackflow.instance": [instance]}}},
        "limit": 50,
    })
    return page["events"]


def _wait_events(server, name: str, instance: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (found := _events(server, name, instance)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def test_cli_approves_one_gate_and_rejects_the_rest_while_a_sibling_branch_runs(
    gate_server, gate_flow, stackflow_cli
):
    demo = gate_flow([
        {"instance": "plat-x/vpc", "timeout_s": LONG, "children": ["plat-x/app"]},
        {"instance": "plat-x/db", "timeout_s": LONG, "children": ["plat-x/api"]},
        {"instance": "plat-y/queue", "timeout_s": LONG},
    ], sibling_s=1.0)
    paused = demo.wait_paused(3)  # three gates wait at once
    assert set(paused) == {"plat-x/vpc", "plat-x/db", "plat-y/queue"}
    # the unrelated branch finishes while every gate is still waiting
    demo.wait_task_completed("sibling")
    assert len(demo.gates("PAUSED")) == 3

    # the gate opening is an event automations can match, with run, instance and summary
    requested = _wait_events(gate_server, "stackflow.approval.requested", "plat-x/vpc")
    assert requested, "no stackflow.approval.requested event"
    payload = requested[0]["payload"]
    assert payload["run"] == demo.run_id and payload["instance"] == "plat-x/vpc"
    assert payload["gate_flow_run_id"] == paused["plat-x/vpc"]["id"]
    assert "| 2 | 1 | 0 |" in payload["summary"]

    listed = stackflow_cli("approvals", demo.run_id)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [
        "plat-x/db", "plat-x/vpc", "plat-y/queue"]

    approved = stackflow_cli("approve", demo.run_name, "plat-x/vpc", "--reason", "ok", "--name", "alice")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == "plat-x/vpc: approved by alice"

    rejected = stackflow_cli("reject", demo.run_id[:8], "--all", "--reason", "not today",
                             "--name", "bob")
    assert rejected.returncode == 0, rejected.stderr
    assert sorted(rejected.stdout.splitlines()) == [
        "plat-x/db: rejected by bob", "plat-y/queue: rejected by bob"]

    out = demo.result()
    got = out["instances"]
    assert got["plat-x/vpc"]["status"] == "applied"
    assert (got["plat-x/vpc"]["by"], got["plat-x/vpc"]["reason"]) == ("alice", "ok")
    assert got["plat-x/app"] == {"status": "planned"}
    assert got["plat-x/db"]["status"] == "skipped"
    assert got["plat-x/db"]["note"] == "not applied: rejected by bob: not today"
    assert got["plat-x/api"]["note"] == "ancestor plat-x/db rejected by bob: not today"
    assert got["plat-y/queue"]["decision"] == "rejected"
    assert out["sibling_finished_at"] < got["plat-x/vpc"]["applied_at"]
    decided = _wait_events(gate_server, "stackflow.approval.decided", "plat-x/db")
    assert decided and decided[0]["payload"]["decision"] == "rejected"


def test_cli_bad_input_is_one_line_and_exit_2(gate_server, stackflow_cli):
    flow = gate_server.request("POST", "/flows/", {"name": "stackflow-deploy"})
    idle = gate_server.request("POST", "/flow_runs/", {"flow_id": flow["id"], "name": "idle-run",
                                                       "state": {"type": "COMPLETED"}})
    cases = [
        (("approve", "no-such-run", "plat-x/vpc", "--reason", "ok"),
         "stackflow: error: unknown run 'no-such-run': no Prefect flow run has this id or name"),
        (("approve", idle["id"], "plat-x/vpc", "--reason", "ok", "--name", "alice"),
         f"stackflow: error: run '{idle['id']}' has no gate waiting for plat-x/vpc (waiting: none)"),
        (("reject", "idle-run", "--all", "--reason", "no"),
         "stackflow: error: run 'idle-run' has no gate waiting for an answer"),
        (("approve", "idle-run", "plat-x/vpc"),
         "stackflow: error: stackflow approve: the following arguments are required: --reason"),
        (("approve", "idle-run", "--reason", "ok"),
         "stackflow: error: give STACK/COMPONENT or --all, not both or neither"),
        (("approve", "idle-run", "vpc", "--reason", "ok"),
         "stackflow: error: 'vpc': expected STACK/COMPONENT"),
        (("reject", "idle-run", "plat-x/vpc", "--reason", "  "),
         "stackflow: error: --reason: say why (it is kept with the decision)"),
    ]
    for args, message in cases:
        proc = stackflow_cli(*args)
        assert (proc.returncode, proc.stdout, proc.stderr.strip()) == (2, "", message), args


def test_rest_api_answers_a_gate_and_an_empty_or_anonymous_answer_rejects(gate_server, gate_flow):
    demo = gate_flow([
        {"instance": "plat-x/rest", "timeout_s": LONG, "derive_parent": True},
        {"instance": "plat-x/empty", "timeout_s": LONG},
        {"instance": "plat-x/anonymous", "timeout_s": LONG},
    ], sibling_s=0.1)
    gates = demo.wait_paused(3)

    def resume(instance: str, body: dict) -> None:
        try:
            answer = gate_server.request("POST", f"/flow_runs/{gates[instance]['id']}/resume", body)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"resume {instance}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
        assert answer["status"] == "ACCEPT", answer

    resume("plat-x/rest", {"run_input": {"decision": "approve", "reason": "change ticket 42",
                                         "name": "carol"}})
    resume("plat-x/empty", {})  # Prefect fills in the form's defaults: reject
    resume("plat-x/anonymous", {"run_input": {"decision": "approve", "reason": "lgtm"}})

    got = demo.result()["instances"]
    assert got["plat-x/rest"]["status"] == "applied" and got["plat-x/rest"]["by"] == "carol"
    # a gate not told its deploy run finds it (for the event) from its own parent task run
    requested = _wait_events(gate_server, "stackflow.approval.requested", "plat-x/rest")
    assert requested and requested[0]["payload"]["run"] == demo.run_id
    assert got["plat-x/empty"]["status"] == "skipped"
    assert (got["plat-x/empty"]["decision"], got["plat-x/empty"]["by"]) == ("rejected", "anonymous")
    assert got["plat-x/anonymous"]["status"] == "skipped"
    assert "an approval must say who gives it" in got["plat-x/anonymous"]["reason"]


def test_timed_out_and_broken_gates_reject_and_skip_the_instance(gate_flow):
    demo = gate_flow([
        {"instance": "plat-x/slow", "timeout_s": 2, "children": ["plat-x/child"]},
        {"instance": "plat-x/broken", "timeout_s": LONG},
    ], sibling_s=0.1, broken=["plat-x/broken"])
    got = demo.result()["instances"]
    slow = got["plat-x/slow"]
    assert (slow["approved"], slow["timed_out"], slow["by"]) == (False, True, "timeout")
    assert slow["reason"] == "no answer within 2 s" and slow["status"] == "skipped"
    assert got["plat-x/child"]["note"] == (
        "ancestor plat-x/slow rejected by timeout: no answer within 2 s")
    broken = got["plat-x/broken"]
    assert (broken["approved"], broken["timed_out"]) == (False, False)
    assert broken["reason"] == "approval gate error: injected failure"
    # no gate is left paused; Prefect itself marks the expired pause Failed
    states = {g["parameters"]["instance"]: g["state"] for g in demo.gates()}
    assert states["plat-x/broken"]["type"] == "COMPLETED"
    assert states["plat-x/slow"]["type"] == "FAILED"
    assert states["plat-x/slow"]["message"] == "The flow was completed and never resumed."
