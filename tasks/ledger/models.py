"""The ledger's tables: runs, per-instance results and step attempts, approvals, locks, drift.

One module so the whole schema reads on one page; the migrations under `migrations/versions`
create exactly these tables (a test compares the two). Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

RUN_STATUSES = ("running", "succeeded", "failed", "crashed")
TRIGGERS = ("pr", "merge", "api", "schedule", "manual", "retry")
# state-unlocked: terraform's own state lock, left by a crashed run, freed by the next holder
LOCK_EVENTS = ("taken", "waited", "released", "forced", "state-unlocked")
DECISIONS = ("approved", "rejected")


class UTCDateTime(sa.types.TypeDecorator):
    """A UTC timestamp stored without zone (SQLite has none) and read back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger times must be timezone-aware")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LedgerModel(SQLModel):
    """Base of the ledger's tables, with a metadata of their own (nothing else of stackflow's)."""

    metadata = sa.MetaData()


class Run(LedgerModel, table=True):
    """One deploy flow run: what started it, on which commit, and how it ended."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    flow_run_id: str = Field(index=True, description="Prefect flow run id")
    flow_run_name: str = ""
    repo: str
    commit: str = ""
    base_ref: str | None = None
    head_ref: str | None = None
    trigger: str = "manual"
    mode: str = "apply"
    started_by: str = ""
    selection: list[str] = Field(default_factory=list, sa_type=sa.JSON,
                                 description="the instances the run covers, in graph order")
    retry_of: int | None = Field(default=None, foreign_key="runs.id")
    status: str = Field(default="running", index=True)
    note: str = Field(default="", sa_type=sa.Text, description="why the run ended badly, if not an instance")
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    alive_until: datetime = Field(sa_type=UTCDateTime,
                                  description="a running run not heard of by then has crashed")


class StepAttempt(LedgerModel, table=True):
    """One attempt of one step (plan or apply) of one instance, written as it ended."""

    __tablename__ = "step_attempts"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runs.id", index=True)
    stack: str
    component: str
    instance: str = Field(index=True)
    step: str
    attempt: int
    status: str  # succeeded | failed
    exit_code: int | None = None
    plan_checksum: str = ""
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    error: str = Field(default="", sa_type=sa.Text, description="redacted last lines")


class StackResult(LedgerModel, table=True):
    """How one instance ended in one run: the `StackOutcome`, plus what the audit needs."""

    __tablename__ = "stack_results"
    __table_args__ = (sa.UniqueConstraint("run_id", "instance", name="uq_stack_results_run_instance"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runs.id", index=True)
    stack: str
    component: str
    instance: str = Field(index=True)
    status: str
    reason: str = Field(default="", sa_type=sa.Text)
    cause: str = Field(default="", sa_type=sa.Text)
    add: int = 0
    change: int = 0
    destroy: int = 0
    attempts: int = 0
    duration_s: float = 0.0
    provisional: bool = False
    resources: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    exit_code: int | None = None
    plan_checksum: str = ""
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime = Field(sa_type=UTCDateTime)
    error: str = Field(default="", sa_type=sa.Text, description="redacted last lines")


class Approval(LedgerModel, table=True):
    """A decision at an approval gate: who approved or rejected which plan, and why."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    stack: str
    component: str
    instance: str = Field(index=True)
    decision: str
    by: str = ""
    reason: str = Field(default="", sa_type=sa.Text)
    plan_checksum: str = ""
    at: datetime = Field(sa_type=UTCDateTime)


class LockEvent(LedgerModel, table=True):
    """A lock taken, waited for, released or forced (or a dead run's terraform lock freed), by whom."""

    __tablename__ = "lock_events"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    lock: str = Field(index=True)
    instance: str = ""
    event: str
    by: str = ""
    waited_s: float = 0.0
    detail: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(sa_type=UTCDateTime)


class DriftFinding(LedgerModel, table=True):
    """An instance whose real infrastructure no longer matches its code."""

    __tablename__ = "drift_findings"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    stack: str
    component: str
    instance: str = Field(index=True)
    add: int = 0
    change: int = 0
    destroy: int = 0
    resources: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    summary: str = Field(default="", sa_type=sa.Text)
    detected_at: datetime = Field(sa_type=UTCDateTime)


metadata = LedgerModel.metadata
