"""Maintenance locks through the CLI: they stop apply and plan-only runs until unlocked."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from stackflow.cli import main
from stackflow.errors import LockError
from stackflow.settings import load_settings
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.resolve import load_stacks
from stackflow.tasks.locks import LockHolder, StackLocks
from tests.locks.test_stack_locks import _in_thread

pytestmark = pytest.mark.prefect_server


@pytest.fixture
def tiny(fixture_repo, monkeypatch, prefect_env):
    monkeypatch.setenv("TF_STATE_BUCKET", f"tiny-{uuid.uuid4().hex[:8]}")  # this test's states
    return fixture_repo("tiny")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_maintenance_lock_holds_runs_until_unlocked_and_locks_shows_it(tiny, capsys):
    rc, out, _ = _run(capsys, "lock", "twins", "--reason", "rotating keys", "--by", "alice",
                      "--repo", str(tiny))
    assert rc == 0
    assert [line.split(" (")[0] for line in out.splitlines()] == [
        "locked twins/queue-a", "locked twins/queue-b", "locked twins/topic"]

    rc, out, _ = _run(capsys, "locks")
    assert rc == 0
    rows = [line for line in out.splitlines() if line.startswith("twins/")]
    assert len(rows) == 3 and all("maintenance" in r and "alice" in r and "rotating keys" in r
                                  for r in rows)

    topic = load_stacks(tiny, load_settings().environ()).instances[InstanceRef("twins", "topic")]
    locks = StackLocks(load_settings())
    with pytest.raises(LockError, match=r"^twins/topic: gave up after waiting 1s for lock "
                       r"stackflow-\S+ \(s3://tiny-\w+/topic/twins/terraform\.tfstate\), locked "
                       r"for maintenance by alice since .*: rotating keys$"):
        locks.acquire(topic, LockHolder("r1", "apply-run", "twins/topic"), timeout_s=1)
    heard: list[str] = []
    with pytest.raises(LockError, match="rotating keys"):
        locks.wait_for_maintenance(topic, timeout_s=1, on_wait=heard.append)
    assert heard and "locked for maintenance by alice" in heard[0]

    rc, _, err = _run(capsys, "lock", "twins/topic", "--reason", "again", "--repo", str(tiny))
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "is already locked for maintenance by alice" in err

    waiter, result = _in_thread(lambda: locks.acquire(
        topic, LockHolder("r2", "queued-run", "twins/topic"), timeout_s=60))
    rc, out, _ = _run(capsys, "unlock", "twins", "--repo", str(tiny))
    assert rc == 0 and out.count("unlocked twins/") == 3
    waiter.join(30)
    lease = result["value"]  # the queued run went on once the lock was lifted
    locks.wait_for_maintenance(topic, timeout_s=0)

    rc, out, _ = _run(capsys, "locks", "--format", "json")
    [held] = [i for i in json.loads(out) if i["instance"] == "twins/topic"]
    assert (held["kind"], held["by"]) == ("apply", "queued-run (r2)")
    locks.release(lease)
    rc, out, _ = _run(capsys, "locks", "--format", "json")
    bucket = os.environ["TF_STATE_BUCKET"]
    assert not [i for i in json.loads(out) if i["address"].startswith(f"s3://{bucket}/")]


def test_unlock_force_frees_an_apply_lock_whose_lease_the_server_forgot(prefect_env, capsys, monkeypatch, tmp_path):
    from prefect.client.orchestration import get_client

    monkeypatch.setenv("STACKFLOW_HOME", str(tmp_path))  # the ledger that records the forced release

    from stackflow.stacks_loader.lock_keys import lock_name, state_address
    from tests.locks.instances import s3_instance

    instance = s3_instance(f"forgot-{uuid.uuid4().hex[:8]}")
    name = lock_name(state_address(instance))
    locks = StackLocks(load_settings())
    locks.release(locks.acquire(instance, LockHolder("r0", "first", str(instance))))
    with get_client(sync_client=True) as client:  # a slot held with no lease: what a server
        client.increment_concurrency_slots([name], 1, "concurrency")  # restart leaves behind
    with pytest.raises(LockError, match="held by a run that has not said who it is"):
        locks.acquire(instance, LockHolder("r1", "blocked", str(instance)), timeout_s=0)

    rc, out, _ = _run(capsys, "unlock", name, "--force")
    assert rc == 0 and out.startswith(f"freed the apply lock of {name} ({name}), held by unknown")
    from stackflow.tasks.ledger.recorder import open_ledger

    (event,) = open_ledger(load_settings()).lock_events()
    assert (event.lock, event.event) == (name, "forced") and "@" in event.by
    locks.release(locks.acquire(instance, LockHolder("r2", "next", str(instance)), timeout_s=0))
