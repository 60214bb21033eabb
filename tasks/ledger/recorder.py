"""`LedgerRecorder`: the deploy flow's `RunRecorder` that writes each event to the ledger at once.

A background thread beats the run's heartbeat while the flow lives; when the process dies (even
by SIGKILL) the beats stop and the ledger calls the run `crashed` after three missed intervals,
whoever reads it next. Writes are redacted with what the run has learnt is secret.
"""

from __future__ import annotations

import getpass
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from stackflow.settings import Settings
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.outcome import StackOutcome

from .redact import SECRET_NAME, Redactor
from .sensitive import SensitiveWatch
from .store import Ledger

if TYPE_CHECKING:
    from stackflow.flows.recorder import RunInfo, StepRecord
    from stackflow.flows.steps import InstanceSteps

log = logging.getLogger(__name__)

_NOT_SECRET_ENV = re.compile(r"^(AWS_ACCESS_KEY_ID|AWS_PROFILE|AWS_REGION|AWS_DEFAULT_REGION)$")


def default_started_by() -> str:
    """`user@host` of this process: who started a run when nobody says otherwise."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """Values of environment variables whose names say they are secret (tokens, keys...)."""
    return [v for k, v in environ.items() if SECRET_NAME.search(k) and not _NOT_SECRET_ENV.match(k)]


class LedgerRecorder:
    """Writes run start, every step attempt, approval and instance outcome, and the run's end."""

    def __init__(self, ledger: Ledger, *, heartbeat_s: float = 10.0) -> None:
        self.ledger = ledger
        self.redactor = ledger.redactor
        self.heartbeat_s = heartbeat_s
        self.run_id: int | None = None
        self.mode: str | None = None
        self._lock = threading.Lock()
        self._first_start: dict[InstanceRef, float] = {}
        self._last_step: dict[InstanceRef, StepRecord] = {}
        self._plan_checksum: dict[InstanceRef, str] = {}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # --- RunRecorder ---------------------------------------------------------------------------
    def run_started(self, info: RunInfo) -> None:
        self.mode = info.mode
        self.run_id = self.ledger.start_run(info, self.heartbeat_s)
        self._beat = threading.Thread(target=self._beat_loop, name=f"ledger-heartbeat-{self.run_id}",
                                      daemon=True)
        self._beat.start()

    def step_ended(self, record: StepRecord) -> None:
        with self._lock:
            self._first_start.setdefault(record.instance, record.started_at)
            self._last_step[record.instance] = record
            if record.step == "plan" and record.ok:
                self._plan_checksum[record.instance] = record.plan_checksum
        self.ledger.record_step(self._require_run(), record)

    def instance_finished(self, outcome: StackOutcome) -> None:
        ref = InstanceRef(outcome.stack, outcome.component)
        with self._lock:
            started = self._first_start.get(ref)
            last = self._last_step.get(ref)
            checksum = self._plan_checksum.get(ref, "")
        error = ""
        if outcome.status == "failed":
            error = last.error if last is not None and not last.ok else outcome.cause
        self.ledger.record_outcome(
            self._require_run(), outcome, started_at=started, ended_at=time.time(),
            exit_code=last.exit_code if last is not None else None, plan_checksum=checksum,
            error=error,
        )

    def run_finished(self, status: str, note: str = "") -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=self.heartbeat_s + 5)
        if self.run_id is not None:
            self.ledger.finish_run(self.run_id, status, note)

    def known_durations(self, instances: Iterable[InstanceRef]) -> dict[InstanceRef, float]:
        return self.ledger.known_durations(instances, mode=self.mode)

    def lock_event(self, instance: InstanceRef, lock: str, event: str, *, waited_s: float = 0.0,
                   detail: str = "") -> None:
        """A state lock taken (after waiting `waited_s`) or released, as it happens."""
        self.ledger.record_lock_event(lock, event, run=self.run_id, instance=instance,
                                      waited_s=waited_s, detail=detail)

    def approval_decided(self, instance: InstanceRef, decision: str, by: str, reason: str,
                         plan_checksum: str) -> None:
        """A gate's answer, written the moment it is known."""
        self.ledger.record_approval(instance, decision, by=by, reason=reason, run=self.run_id,
                                    plan_checksum=plan_checksum)

    # --- extras --------------------------------------------------------------------------------
    def watch(self, steps: InstanceSteps, repo: Path) -> InstanceSteps:
        """`steps` that teach this recorder's redactor each instance's sensitive values."""
        return SensitiveWatch(steps, self.redactor, repo)

    def _require_run(self) -> int:
        if self.run_id is None:
            raise RuntimeError("LedgerRecorder: run_started was not called")
        return self.run_id

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.ledger.heartbeat(self._require_run(), self.heartbeat_s)
            except Exception as exc:  # a missed beat is not fatal; three are a crash verdict
                log.warning("ledger heartbeat of run %s failed: %s", self.run_id, exc)


def open_ledger(settings: Settings, redactor: Redactor | None = None) -> Ledger:
    """The ledger `settings` point at (`STACKFLOW_DATABASE_URL`, else `<home>/ledger.db`)."""
    return Ledger.open(settings.database_url, settings.home, redactor)


def open_recorder(settings: Settings) -> LedgerRecorder:
    """A recorder for one run, its redactor primed with the environment's secrets."""
    redactor = Redactor(environment_secrets(settings.environ()))
    return LedgerRecorder(open_ledger(settings, redactor), heartbeat_s=settings.ledger_heartbeat_s)
