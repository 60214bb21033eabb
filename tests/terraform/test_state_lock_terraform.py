"""Terraform's own state lock on real terraform and DynamoDB: a lock left by a crashed stack-lock
holder is freed, anyone else's never is, and a run that loses its stack lock interrupts its
terraform so that terraform saves state and unlocks."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from stackflow.stacks_loader.model import InstanceRef, StackInstance
from stackflow.stacks_loader.resolve import load_stacks
from stackflow.tasks.state_lock import (
    CrashedHolder,
    StateCustody,
    StateLockInfo,
    acting_on_state,
    terraform_who,
)
from stackflow.tasks.terraform import apply_stack, plan_stack

from stackflow.errors import TerraformError
from stackflow.settings import load_settings

pytestmark = [pytest.mark.terraform, pytest.mark.xdist_group("terraform-tiny")]


class _Lease:
    """Stands in for a held stack lock: only whether it is lost matters to terraform."""

    name = "stackflow-queue-pair-crash-test"
    lost: str | None = None


def _pair(repo: Path) -> StackInstance:
    return load_stacks(repo, os.environ).instances[InstanceRef("crash", "queue-pair")]


def _plan(instance: StackInstance, repo: Path, custody: StateCustody | None = None):
    with acting_on_state(custody):
        return plan_stack(instance, repo, f"run-{uuid.uuid4().hex[:8]}", dict(instance.vars),
                          load_settings())


def _hold_state_lock(sandbox, bucket: str, who: str, created: datetime) -> tuple[str, dict]:
    lock_id = str(uuid.uuid4())
    key = {"LockID": {"S": f"{bucket}/queue-pair/crash/terraform.tfstate"}}
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Info": "", "Who": who,
            "Version": "1.0.3", "Created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "Path": f"{bucket}/queue-pair/crash/terraform.tfstate"}
    sandbox.client("dynamodb").put_item(TableName=sandbox.lock_table,
                                        Item={**key, "Info": {"S": json.dumps(info)}})
    return lock_id, key


def _lock_item(sandbox, key: dict) -> dict | None:
    return sandbox.client("dynamodb").get_item(TableName=sandbox.lock_table, Key=key).get("Item")


def test_a_state_lock_left_by_the_crashed_holder_is_freed_and_the_plan_goes_on(
        sandbox, sandbox_env, fixture_repo):
    repo = fixture_repo("tiny")
    instance = _pair(repo)
    _plan(instance, repo)  # the workspace exists, as it would after the crashed run's plan
    now = datetime.now(timezone.utc)
    crashed = CrashedHolder("dead-run-id", "brave-fox", since=now - timedelta(seconds=90),
                            who=terraform_who(), host="another-worker", pid=1)
    lock_id, key = _hold_state_lock(sandbox, sandbox_env["TF_STATE_BUCKET"], terraform_who(),
                                    now - timedelta(seconds=30))
    freed: list[tuple[StateLockInfo, CrashedHolder]] = []
    custody = StateCustody("crash/queue-pair", _Lease(), crashed,
                           on_freed=lambda lock, who: freed.append((lock, who)))
    result = _plan(instance, repo, custody)
    assert result.summary.add == 2
    assert [(lock.id, lock.who, holder) for lock, holder in freed] == [
        (lock_id, terraform_who(), crashed)]
    assert _lock_item(sandbox, key) is None


def test_someone_elses_state_lock_is_never_freed_and_the_error_says_how_to(
        sandbox, sandbox_env, fixture_repo):
    repo = fixture_repo("tiny")
    instance = _pair(repo)
    _plan(instance, repo)
    now = datetime.now(timezone.utc)
    crashed = CrashedHolder("dead-run-id", "brave-fox", since=now - timedelta(seconds=90),
                            who=terraform_who(), host="another-worker")
    lock_id, key = _hold_state_lock(sandbox, sandbox_env["TF_STATE_BUCKET"], "alice@laptop",
                                    now - timedelta(seconds=30))
    with pytest.raises(TerraformError) as caught:
        _plan(instance, repo, StateCustody("crash/queue-pair", _Lease(), crashed))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("crash/queue-pair: terraform plan failed")
    assert f"the state is locked by terraform: ID {lock_id}, OperationTypeApply by alice@laptop" \
        in message
    assert "taken by alice@laptop, not by run brave-fox (dead-run-id)" in message
    assert message.endswith(f"stackflow unlock crash/queue-pair --state-lock {lock_id}")
    assert caught.value.transient  # a person's lock may be gone in a moment: retried
    assert _lock_item(sandbox, key) is not None


def test_a_run_that_loses_its_stack_lock_interrupts_terraform_which_saves_and_unlocks(
        sandbox, sandbox_env, fixture_repo, tmp_path, monkeypatch):
    repo = fixture_repo("tiny")
    instance = _pair(repo)
    plan = _plan(instance, repo)
    gate = tmp_path / "gate"
    gate.mkdir()
    monkeypatch.setenv("STACKFLOW_TEST_APPLY_GATE", str(gate))
    lease = _Lease()
    custody = StateCustody("crash/queue-pair", lease)

    def lose_the_lock() -> None:
        deadline = time.monotonic() + 300
        while not (gate / "reached").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        lease.lost = "the server no longer has its lease (expired or revoked)"

    thief = threading.Thread(target=lose_the_lock)
    thief.start()
    started = time.monotonic()
    try:
        with pytest.raises(TerraformError) as caught, acting_on_state(custody):
            apply_stack(instance, plan, plan.plan_file, load_settings())
    finally:
        thief.join()
    assert (gate / "reached").exists()
    assert "terraform apply failed (exit 130): interrupted: the stack lock was lost (the " \
           "server no longer has its lease" in str(caught.value)
    assert not caught.value.transient
    assert time.monotonic() - started < 120  # SIGTERM stopped it; it was not killed at the grace
    key = {"LockID": {"S": f"{sandbox_env['TF_STATE_BUCKET']}/queue-pair/crash/terraform.tfstate"}}
    assert _lock_item(sandbox, key) is None  # terraform released its state lock itself
    state = json.loads(sandbox.s3_client().get_object(
        Bucket=sandbox_env["TF_STATE_BUCKET"], Key="queue-pair/crash/terraform.tfstate")["Body"].read())
    # and saved what it had done: the first queue (the second was interrupted in its provisioner)
    assert "first" in {r["name"] for r in state["resources"]}
