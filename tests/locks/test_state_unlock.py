"""`stackflow unlock STACK/COMPONENT --state-lock ID`: a person frees terraform's own state lock,
on real terraform and DynamoDB, holding the instance's stack lock meanwhile."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import datetime, timezone

import pytest
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.resolve import load_stacks
from stackflow.tasks.ledger.recorder import open_ledger
from stackflow.tasks.locks import LockHolder, StackLocks
from stackflow.tasks.terraform import plan_stack

from stackflow.cli import main
from stackflow.settings import load_settings
from tests.locks.test_stack_locks import _in_thread

pytestmark = [pytest.mark.prefect_server, pytest.mark.terraform]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_person_frees_a_stale_state_lock_unless_a_run_holds_the_state(
        sandbox, sandbox_env, prefect_env, fixture_repo, capsys):
    repo = fixture_repo("tiny")
    instance = load_stacks(repo, os.environ).instances[InstanceRef("crash", "queue-pair")]
    plan_stack(instance, repo, "setup", dict(instance.vars), load_settings())  # the workspace
    bucket = sandbox_env["TF_STATE_BUCKET"]
    key = {"LockID": {"S": f"{bucket}/queue-pair/crash/terraform.tfstate"}}
    lock_id = str(uuid.uuid4())
    dynamodb = sandbox.client("dynamodb")
    dynamodb.put_item(TableName=sandbox.lock_table, Item={**key, "Info": {"S": json.dumps({
        "ID": lock_id, "Operation": "OperationTypeApply", "Who": "alice@laptop",
        "Version": "1.0.3", "Created": datetime.now(timezone.utc).isoformat(),
        "Path": key["LockID"]["S"]})}})

    # a run holds the stack lock: it may be using the state right now, so nothing is touched
    locks = StackLocks(load_settings())
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.held(instance, LockHolder(str(uuid.uuid4()), "busy-run", "crash/queue-pair")):
            taken.set()
            done.wait(60)

    holder, _ = _in_thread(hold)
    try:
        assert taken.wait(60)
        rc, _, err = _run(capsys, "unlock", "crash/queue-pair", "--state-lock", lock_id,
                          "--repo", str(repo))
    finally:
        done.set()
        holder.join()
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "gave up after waiting 0s for lock" in err and "held by run busy-run" in err
    assert "Item" in dynamodb.get_item(TableName=sandbox.lock_table, Key=key)

    # a wrong ID: terraform refuses, and says so in one line
    rc, _, err = _run(capsys, "unlock", "crash/queue-pair", "--state-lock", "not-the-id",
                      "--repo", str(repo))
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith("stackflow: error: crash/queue-pair: terraform force-unlock failed")
    assert "Item" in dynamodb.get_item(TableName=sandbox.lock_table, Key=key)

    rc, out, err = _run(capsys, "unlock", "crash/queue-pair", "--state-lock", lock_id,
                        "--repo", str(repo))
    assert rc == 0, err
    assert out.startswith(f"freed terraform state lock {lock_id} of crash/queue-pair (s3://{bucket}/")
    assert "Item" not in dynamodb.get_item(TableName=sandbox.lock_table, Key=key)
    events = [e for e in open_ledger(load_settings()).lock_events()
              if e.event == "state-unlocked"]
    assert len(events) == 1 and lock_id in events[0].detail and "@" in events[0].by
    assert locks.holder_of(instance) is None  # its stack lock was given back
