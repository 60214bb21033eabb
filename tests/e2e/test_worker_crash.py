"""A worker killed with SIGKILL in the middle of an apply: its stack lock frees itself within the
lease, its run is marked crashed, terraform's state lock it left behind is freed by the next
holder (and only because it provably belongs to the dead run), the next run applies, and nothing
is applied twice."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .prefect_services import PrefectServer, kill_process_tree, stop_process

LEASE_S = 60  # the smallest lease Prefect accepts
REAPER_S = 5  # the server's lease reaper loop, set below (default 15 s)

pytestmark = [pytest.mark.terraform, pytest.mark.prefect_server, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def prefect_server(tmp_path):
    server = PrefectServer(tmp_path / "prefect", server_env={
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": str(REAPER_S)}).start()
    yield server
    server.stop()


def _wait_for(path: Path, run_id: str, server: PrefectServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        state = server.request("GET", f"/flow_runs/{run_id}")["state"]
        assert state["type"] not in ("COMPLETED", "FAILED", "CRASHED"), state
        assert time.monotonic() < deadline, f"{path} not there after {timeout}s"
        time.sleep(0.5)


def _ledger_time(text: str) -> datetime:
    at = datetime.fromisoformat(str(text))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def test_worker_killed_mid_apply_frees_its_lock_and_the_next_run_applies_once(
    prefect_server, sandbox, sandbox_env, fixture_repo, tmp_path
):
    repo = fixture_repo("tiny")
    project = tmp_path / "project"  # a checkout of stackflow, as a user would deploy from
    home = tmp_path / "home"  # one ledger for both workers, as on one machine
    env = dict(sandbox_env, STACKFLOW_HOME=str(home), STACKFLOW_LOCK_LEASE_S=str(LEASE_S),
               PWD=str(project))
    deployment = prefect_server.deploy_project(project, env)

    def trigger() -> str:
        return prefect_server.request(
            "POST", f"/deployments/{deployment['id']}/create_flow_run",
            {"parameters": {"repo": str(repo), "stacks": ["crash"], "mode": "apply"}})["id"]

    # 1. worker A applies; the test holds the apply open after the first queue is created
    gate = tmp_path / "gate"
    gate.mkdir()
    worker_a = prefect_server.start_worker(
        "stackflow", project, dict(env, STACKFLOW_TEST_APPLY_GATE=str(gate)), tmp_path / "worker-a.log")
    crashed_run = trigger()
    try:
        _wait_for(gate / "reached", crashed_run, prefect_server, timeout=600)
        killed = kill_process_tree(worker_a.pid)  # the whole worker: flow run and terraform too
    finally:
        stop_process(worker_a)
    killed_at = datetime.now(timezone.utc)
    assert any("terraform" in cmd and " apply " in f" {cmd} " for cmd in killed.values()), killed
    table = sandbox.client("dynamodb")
    state_id = f"{sandbox_env['TF_STATE_BUCKET']}/queue-pair/crash/terraform.tfstate"
    left = table.get_item(TableName=sandbox.lock_table, Key={"LockID": {"S": state_id}})
    assert "Item" in left, "the killed terraform should have left its state lock behind"
    dead_lock = json.loads(left["Item"]["Info"]["S"])

    # 2. a new run on another worker queues for the lock, gets it when the lease ends, applies
    worker_b = prefect_server.start_worker("stackflow", project, env, tmp_path / "worker-b.log")
    try:
        next_run = trigger()
        final = prefect_server.wait_flow_run(next_run, timeout=900)
    finally:
        stop_process(worker_b)
    log_b = (tmp_path / "worker-b.log").read_text()
    assert final["state"]["type"] == "COMPLETED", log_b[-4000:]
    assert "waiting for lock" in log_b and crashed_run in log_b  # it named the dead holder

    # the killed run is marked crashed in Prefect, and none of its task runs finished after the kill
    dead = prefect_server.request("GET", f"/flow_runs/{crashed_run}")
    assert dead["state"]["type"] == "CRASHED", dead["state"]
    assert "stopped renewing its lease" in dead["state"]["message"]
    for task_run in prefect_server.request("POST", "/task_runs/filter",
                                           {"flow_runs": {"id": {"any_": [crashed_run]}}}):
        if task_run["name"] == "apply crash/queue-pair":
            assert task_run["state"]["type"] != "COMPLETED"

    db = sqlite3.connect(home / "ledger.db")
    run_ids = dict(db.execute("SELECT flow_run_id, id FROM runs").fetchall())
    dead_id, next_id = run_ids[crashed_run], run_ids[next_run]
    events = db.execute("SELECT run_id, event, at, detail FROM lock_events ORDER BY id").fetchall()

    # the lock freed itself within the lease (+ the reaper's loop + the waiter's poll), and not
    # before: it was held until the lease ran out (renewed every third of it until the kill)
    taken_at = next(_ledger_time(at) for run, event, at, _ in events
                    if run == next_id and event == "taken")
    freed_after = (taken_at - killed_at).total_seconds()
    print(f"lock of the killed worker's run passed on {freed_after:.1f}s after SIGKILL (lease {LEASE_S}s)")
    assert LEASE_S * 2 / 3 - 5 <= freed_after <= LEASE_S + REAPER_S + 15, freed_after

    # terraform's state lock left by the dead run was freed by the next holder, and recorded
    unlocked = [detail for run, event, _, detail in events
                if run == next_id and event == "state-unlocked"]
    assert len(unlocked) == 1 and dead_lock["ID"] in unlocked[0] and crashed_run in unlocked[0]
    assert "Item" not in table.get_item(TableName=sandbox.lock_table, Key={"LockID": {"S": state_id}})

    # nothing applied twice: one successful apply of the instance, by the new run, which started
    # after the kill; the dead run's apply never finished nor came back
    applies = db.execute("SELECT run_id, status, started_at FROM step_attempts "
                         "WHERE instance = 'crash/queue-pair' AND step = 'apply'").fetchall()
    assert [(run, status) for run, status, _ in applies] == [(next_id, "succeeded")]
    assert not db.execute("SELECT 1 FROM stack_results WHERE run_id = ?", (dead_id,)).fetchall()
    assert _ledger_time(applies[0][2]) > killed_at
    result = db.execute("SELECT status FROM stack_results WHERE run_id = ? AND instance = ?",
                        (next_id, "crash/queue-pair")).fetchone()
    assert result == ("succeeded",)
    queues = sandbox.client("sqs").list_queues(QueueNamePrefix="crash-pair").get("QueueUrls", [])
    assert sorted(url.rsplit("/", 1)[1] for url in queues) == ["crash-pair-first", "crash-pair-second"]

    # the ledger, too, calls the killed run crashed (no heartbeat)
    runs = json.loads(subprocess.run(
        [sys.executable, "-m", "stackflow", "runs", "list", "--format", "json"],
        env=dict(os.environ, STACKFLOW_HOME=str(home)), capture_output=True, text=True, check=True,
    ).stdout)
    assert {r["flow_run_id"]: r["status"] for r in runs}[crashed_run] == "crashed"

    # and the state now holds both queues: a plan reports no changes
    check = subprocess.run(
        [sys.executable, "-m", "stackflow", "deploy", "--repo", str(repo), "--stack", "crash",
         "--mode", "plan", "--format", "json"],
        env=prefect_server.env(dict(sandbox_env, STACKFLOW_HOME=str(tmp_path / "check"))),
        capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-2000:]
    assert [o["status"] for o in json.loads(check.stdout)] == ["no changes"]
