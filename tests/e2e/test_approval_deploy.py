"""Production gates in the real deploy flow on real terraform, answered from another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from .prefect_services import PrefectServer

pytestmark = [pytest.mark.terraform, pytest.mark.prefect_server, pytest.mark.xdist_group("e2e")]



def _wait_for_gate(server: PrefectServer, instance: str, proc: subprocess.Popen[str],
                   timeout: float = 300.0) -> str:
    """The deploy run id once the gate of `instance` is paused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.log_files[1].read_text()  # type: ignore[attr-defined]
            raise AssertionError(f"deploy ended before its gate opened: {err[-2000:]}")
        gates = server.request("POST", "/flow_runs/filter", {"flow_runs": {
            "name": {"any_": [f"approve {instance}"]}, "state": {"type": {"any_": ["PAUSED"]}}}})
        if gates:
            task_run = server.request("GET", f"/task_runs/{gates[0]['parent_task_run_id']}")
            return task_run["flow_run_id"]
        time.sleep(1)
    raise TimeoutError(f"no paused gate for {instance}")


def _wait_for(predicate, timeout: float = 300.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return False


def test_production_gate_rejected_then_approved_while_a_sibling_applies(prefect_server, sandbox, fixture_repo, tmp_path):
    repo = fixture_repo("tiny")
    env = prefect_server.env(sandbox.env(os.environ))
    env.update(STACKFLOW_HOME=str(tmp_path / "home"), STACKFLOW_APPROVAL_POLL_S="1")
    cli = [sys.executable, "-m", "stackflow"]

    def deploy(name: str) -> subprocess.Popen[str]:
        # files, not pipes: a full pipe would block the deploy while the test waits for its gate
        out = open(tmp_path / f"{name}.out", "w+")
        err = open(tmp_path / f"{name}.err", "w+")
        proc = subprocess.Popen([*cli, "deploy", "--repo", str(repo), "--stack", "prod", "--format", "json"],
                                env=env, stdout=out, stderr=err, text=True)
        proc.log_files = (tmp_path / f"{name}.out", tmp_path / f"{name}.err")  # type: ignore[attr-defined]
        return proc

    def finish(proc: subprocess.Popen[str]) -> dict[str, dict]:
        proc.wait(timeout=300)
        out, err = (path.read_text() for path in proc.log_files)  # type: ignore[attr-defined]
        assert proc.returncode == 0, err[-2000:]
        return {f"{r['stack']}/{r['component']}": r for r in json.loads(out)}

    def answer(*argv: str) -> None:
        done = subprocess.run([*cli, *argv], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    # 1. rejected: the instance and its child are skipped; the unrelated branch applied meanwhile
    proc = deploy("rejected")
    run_id = _wait_for_gate(prefect_server, "prod/queue", proc)
    sqs = sandbox.client("sqs")

    def queue_exists(name: str) -> bool:
        return any(u.endswith("/" + name) for u in sqs.list_queues().get("QueueUrls", []))

    assert _wait_for(lambda: queue_exists("tiny-prod-unrelated")), \
        "the sibling branch did not apply while the gate waited"
    answer("reject", run_id, "prod/queue", "--reason", "not today", "--name", "bob")
    results = finish(proc)
    assert results["prod/queue"]["status"] == "skipped"
    assert results["prod/queue"]["reason"] == "rejected by bob: not today"
    assert (results["prod/topic"]["status"], results["prod/topic"]["cause"]) == ("skipped", "prod/queue")
    assert results["prod/side"]["status"] == "succeeded"
    assert not queue_exists("tiny-prod-orders")

    # 2. approved: the apply runs, and the child after it
    proc = deploy("approved")
    run_id = _wait_for_gate(prefect_server, "prod/queue", proc)
    answer("approve", run_id, "prod/queue", "--reason", "change ticket 42", "--name", "alice")
    # the child is production too: its own gate opens only after its parent applied
    assert _wait_for_gate(prefect_server, "prod/topic", proc) == run_id
    answer("approve", run_id, "--all", "--reason", "change ticket 42", "--name", "alice")
    results = finish(proc)
    assert results["prod/queue"]["status"] == "succeeded"
    assert results["prod/topic"]["status"] == "succeeded"
    assert results["prod/side"]["status"] == "no changes"
    assert queue_exists("tiny-prod-orders")
