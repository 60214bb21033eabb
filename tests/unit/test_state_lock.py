"""Reading terraform's state-lock errors, and when a lock left behind may be freed."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import datetime, timedelta, timezone

from stackflow.tasks.state_lock import (
    CrashedHolder,
    StateLockInfo,
    crashed_holder_from,
    parse_state_lock,
    run_still_running,
    why_not_free,
)

# as terraform 1.0.3 printed it here with -no-color, for an S3 state whose DynamoDB lock a
# killed apply left behind
PLAIN = """
Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request
failed
Lock Info:
  ID:        3adf8fb5-ea5f-89ca-5b99-af745bd1a3bc
  Path:      acme-tfstate/queue-pair/crash/terraform.tfstate
  Operation: OperationTypeApply
  Who:       root@vm
  Version:   1.0.3
  Created:   2026-11-24 03:25:44.505797416 +0000 UTC
  Info:      


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""
# the same diagnostic as terraform draws it without -no-color
BOXED = "\n".join(("│ " + line) if line else "│" for line in PLAIN.strip().splitlines())
CREATED = datetime(2026, 11, 24, 3, 25, 44, 505797, tzinfo=timezone.utc)


def test_lock_info_is_read_from_plain_and_boxed_diagnostics():
    for text in (PLAIN, "╷\n" + BOXED + "\n╵"):
        lock = parse_state_lock(text)
        assert lock == StateLockInfo(
            id="3adf8fb5-ea5f-89ca-5b99-af745bd1a3bc",
            path="acme-tfstate/queue-pair/crash/terraform.tfstate",
            operation="OperationTypeApply", who="root@vm", version="1.0.3", created=CREATED)
    assert "ID 3adf8fb5-ea5f-89ca-5b99-af745bd1a3bc, OperationTypeApply by root@vm since " \
           "2026-11-24 03:25:44 UTC" in lock.describe()


def test_other_failures_and_an_offset_clock_are_read_right():
    assert parse_state_lock("Error: Invalid reference\n  on main.tf line 3") is None
    assert parse_state_lock("Lock Info:\n  Path: x\n") is None  # no ID: nothing to free
    lock = parse_state_lock("Lock Info:\n  ID: abc\n  Created: 2026-01-02 03:04:05 +0200 EET\n")
    assert lock is not None and lock.created == datetime(2026, 1, 2, 1, 4, 5, tzinfo=timezone.utc)


def _crashed(**kw) -> CrashedHolder:
    base = dict(run_id="r-dead", run_name="brave-fox", since=CREATED - timedelta(seconds=30),
                who="root@vm", host="worker-1", pid=4242)
    return CrashedHolder(**{**base, **kw})


def test_a_lock_is_freed_only_when_it_provably_belongs_to_the_crashed_holder():
    lock = parse_state_lock(PLAIN)
    gone = dict(still_running=lambda crashed: None)
    assert why_not_free(lock, _crashed(), **gone) is None
    # the same second as `since` (which has no fraction) still counts as after it
    assert why_not_free(lock, _crashed(since=CREATED.replace(microsecond=0)), **gone) is None

    assert "no stackflow run" in why_not_free(lock, None, **gone)
    assert "taken by root@vm, not by run brave-fox (r-dead) (alice@laptop)" in why_not_free(
        lock, _crashed(who="alice@laptop"), **gone)
    assert "unknown user@host" in why_not_free(lock, _crashed(who=""), **gone)
    assert "taken before run brave-fox" in why_not_free(
        lock, _crashed(since=CREATED + timedelta(minutes=5)), **gone)
    assert why_not_free(lock, _crashed(), still_running=lambda c: "pid 4242 lives") == \
        "run brave-fox (r-dead) has not stopped: pid 4242 lives"


def test_on_its_own_host_a_crashed_run_counts_as_running_while_anything_of_it_runs(tmp_path):
    here = socket.gethostname()
    assert run_still_running(_crashed(host="some-other-host", pid=os.getpid()), tmp_path) is None
    assert "pid" in run_still_running(_crashed(host=here, pid=os.getpid()), tmp_path)
    dead_pid = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout
    dead = _crashed(host=here, pid=int(dead_pid), run_id="r-dead")
    assert run_still_running(dead, tmp_path) is None
    # a terraform orphaned in the dead run's work folder (only the flow process was killed)
    folder = tmp_path / "runs" / "r-dead" / "crash" / "queue-pair"
    folder.mkdir(parents=True)
    orphan = subprocess.Popen(["sleep", "30"], cwd=folder)
    try:
        assert f"still runs in {tmp_path / 'runs' / 'r-dead'}" in run_still_running(dead, tmp_path)
    finally:
        orphan.kill()
        orphan.wait()
    assert run_still_running(dead, tmp_path) is None


def test_a_holder_record_left_behind_reads_as_a_crashed_holder():
    record = {"run_id": "r1", "run_name": "n", "since": "2026-11-24T03:25:14+00:00",
              "who": "root@vm", "host": "vm", "pid": "77", "lease_id": "x"}
    assert crashed_holder_from(record) == CrashedHolder(
        "r1", "n", datetime(2026, 11, 24, 3, 25, 14, tzinfo=timezone.utc), "root@vm", "vm", 77)
    # a record from before these fields existed: nothing to match a terraform lock against
    old = crashed_holder_from({"run_id": "r1", "since": "2026-11-24T03:25:14+00:00"})
    assert old is not None and old.who == "" and old.pid == 0
    assert crashed_holder_from({"run_id": "r1"}) is None
