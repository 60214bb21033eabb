"""What the deploy flow reports as it goes, to whoever keeps the record (the run ledger).

Every call happens the moment the thing happens, so a crashed run leaves a true record up to the
crash. `NullRecorder` keeps nothing; the ledger's recorder writes each call to its database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.outcome import StackOutcome


@dataclass(frozen=True)
class RunInfo:
    """Facts about one deploy run, known when it starts."""

    flow_run_id: str
    flow_run_name: str
    repo: str
    commit: str
    mode: str
    trigger: str = "manual"  # pr | merge | api | schedule | manual | retry
    started_by: str = ""
    retry_of: str | None = None
    base_ref: str | None = None
    head_ref: str | None = None
    selection: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepRecord:
    """One attempt of one step of one instance, as it ended."""

    instance: InstanceRef
    step: str  # plan | apply
    attempt: int
    started_at: float  # epoch seconds
    ended_at: float
    ok: bool
    exit_code: int | None = None
    plan_checksum: str = ""
    error: str = ""


class RunRecorder(Protocol):
    def run_started(self, info: RunInfo) -> None: ...

    def step_ended(self, record: StepRecord) -> None: ...

    def instance_finished(self, outcome: StackOutcome) -> None: ...

    def run_finished(self, status: str) -> None: ...

    def approval_decided(self, instance: InstanceRef, decision: str, by: str, reason: str,
                         plan_checksum: str) -> None: ...

    def lock_event(self, instance: InstanceRef, lock: str, event: str, *, waited_s: float = 0.0,
                   detail: str = "") -> None: ...

    def known_durations(self, instances: Iterable[InstanceRef]) -> dict[InstanceRef, float]: ...


class NullRecorder:
    """Records nothing; durations unknown (every instance counts as equal)."""

    def run_started(self, info: RunInfo) -> None:
        pass

    def step_ended(self, record: StepRecord) -> None:
        pass

    def instance_finished(self, outcome: StackOutcome) -> None:
        pass

    def run_finished(self, status: str, note: str = "") -> None:
        pass

    def approval_decided(self, instance: InstanceRef, decision: str, by: str, reason: str,
                         plan_checksum: str) -> None:
        pass

    def lock_event(self, instance: InstanceRef, lock: str, event: str, *, waited_s: float = 0.0,
                   detail: str = "") -> None:
        pass

    def known_durations(self, instances: Iterable[InstanceRef]) -> dict[InstanceRef, float]:
        return {}
