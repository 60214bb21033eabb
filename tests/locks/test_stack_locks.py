"""Stack locks against a real Prefect server: queueing, timeouts, and a killed holder."""

from __future__ import annotations

import contextvars
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackflow.errors import LockError
from stackflow.settings import load_settings
from stackflow.stacks_loader.lock_keys import lock_name, state_address
from stackflow.tasks.locks import LockHolder, StackLocks
from tests.locks.instances import s3_instance

pytestmark = pytest.mark.prefect_server

ROOT = Path(__file__).parents[2]
FIRST_RUN_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def _bucket() -> str:
    return f"locks-{uuid.uuid4().hex[:8]}"


class Holder:
    """The `tests.locks.holder` process: another run holding the lock."""

    def __init__(self, env: dict[str, str], bucket: str, lease_s: float = 120) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.locks.holder", bucket, "first-run", FIRST_RUN_ID],
            cwd=ROOT, env={**env, "STACKFLOW_LOCK_LEASE_S": str(lease_s)}, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )

    def expect(self, line: str, timeout: float = 90) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                text = self.proc.stdout.readline()
                if text.strip() == line:
                    return
                if not text:
                    break
                seen.append(text)
        raise AssertionError(f"holder never said {line!r}: {''.join(seen)[-2000:]}")

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("release\n")
        self.proc.stdin.flush()
        self.expect("released")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def holder(prefect_env):
    started: list[Holder] = []

    def start(bucket: str, lease_s: float = 120) -> Holder:
        h = Holder(prefect_env, bucket, lease_s)
        started.append(h)
        h.expect("acquired")
        return h

    yield start
    for h in started:
        h.stop()


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `fn` in a thread that sees this test's Prefect settings."""
    result: dict[str, Any] = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            result["value"] = context.run(fn)
        except BaseException as exc:  # noqa: BLE001
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_second_run_queues_behind_the_first_and_is_told_who_holds_the_lock(prefect_env, holder):
    bucket = _bucket()
    instance = s3_instance(bucket)
    name = lock_name(state_address(instance))
    first = holder(bucket)
    messages: list[str] = []
    locks = StackLocks(load_settings())
    waiter, result = _in_thread(lambda: locks.acquire(
        instance, LockHolder("second-id", "second-run", str(instance)), timeout_s=120,
        on_wait=messages.append))
    _wait_until(lambda: bool(messages), 30)
    assert messages[0].startswith(f"waiting for lock {name} (s3://{bucket}/vpc/plat-ue1-dev/"
                                  "terraform.tfstate) held by run first-run "
                                  f"({FIRST_RUN_ID}) since ")
    time.sleep(3)
    assert waiter.is_alive() and len(messages) == 1  # still queued; told once, not every poll

    first.release()
    waiter.join(30)
    assert "error" not in result, result.get("error")
    lease = result["value"]
    assert lease.held and lease.holder.run_name == "second-run"
    [held] = [i for i in locks.list_locks() if i.name == name]
    assert (held.kind, held.by) == ("apply", "second-run (second-id)")
    locks.release(lease)
    assert not [i for i in locks.list_locks() if i.name == name]


def test_a_run_that_waits_too_long_fails_naming_the_holder(prefect_env, holder):
    bucket = _bucket()
    instance = s3_instance(bucket)
    holder(bucket)
    started = time.monotonic()
    with pytest.raises(LockError) as caught:
        StackLocks(load_settings()).acquire(instance, LockHolder("x", "late-run", str(instance)),
                                            timeout_s=3)
    assert 3 <= time.monotonic() - started < 15
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("plat-ue1-dev/vpc: gave up after waiting 3s for lock stackflow-vpc-")
    assert f"held by run first-run ({FIRST_RUN_ID}) since " in message


def test_a_killed_holder_frees_the_lock_within_its_lease_while_a_live_one_keeps_it(
    prefect_env, holder
):
    lease_s = 60.0  # the server's minimum
    locks = StackLocks(load_settings(lock_lease_s=lease_s))
    alive_instance = s3_instance(_bucket())  # held in this process, renewed, for > its lease
    alive = locks.acquire(alive_instance, LockHolder("alive-id", "alive-run", "a/vpc"))
    bucket = _bucket()
    killed = holder(bucket, lease_s=lease_s)
    killed.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()

    instance = s3_instance(bucket)
    lease = locks.acquire(instance, LockHolder("next-id", "next-run", str(instance)),
                          timeout_s=lease_s + 45)
    freed_after = time.monotonic() - killed_at
    print(f"lock of the killed holder freed {freed_after:.1f}s after SIGKILL (lease {lease_s:g}s)")
    assert freed_after <= lease_s + 15, f"freed only after {freed_after:.0f}s"
    locks.release(lease)

    time.sleep(max(0.0, killed_at + lease_s + 12 - time.monotonic()))  # past an unrenewed lease
    assert alive.held
    with pytest.raises(LockError, match="held by run alive-run"):
        locks.acquire(alive_instance, LockHolder("x", "x", "a/vpc"), timeout_s=0)
    locks.release(alive)
