"""The ledger's first tables: runs, step attempts, stack results, approvals, lock events, drift.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Frozen: a later schema change is a new revision, never an edit here. Times are UTC without zone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=False)


def _string(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _instance_columns() -> list[sa.Column]:
    return [_string("stack"), _string("component"), _string("instance")]


def _run_fk(nullable: bool) -> list[sa.Column | sa.ForeignKeyConstraint]:
    return [_int("run_id", nullable), sa.ForeignKeyConstraint(["run_id"], ["runs.id"])]


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("flow_run_id"), _string("flow_run_name"), _string("repo"), _string("commit"),
        _string("base_ref", nullable=True), _string("head_ref", nullable=True),
        _string("trigger"), _string("mode"), _string("started_by"),
        sa.Column("selection", sa.JSON(), nullable=False),
        _int("retry_of", nullable=True), sa.ForeignKeyConstraint(["retry_of"], ["runs.id"]),
        _string("status"), _text("note"),
        _time("started_at"), _time("ended_at", nullable=True), _time("heartbeat_at"),
        _time("alive_until"),
    )
    _indexes("runs", "flow_run_id", "started_at", "status")

    op.create_table(
        "step_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_run_fk(nullable=False), *_instance_columns(),
        _string("step"), _int("attempt"), _string("status"), _int("exit_code", nullable=True),
        _string("plan_checksum"), _time("started_at"), _time("ended_at"), _text("error"),
    )
    _indexes("step_attempts", "instance", "run_id")

    op.create_table(
        "stack_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_run_fk(nullable=False), *_instance_columns(),
        _string("status"), _text("reason"), _text("cause"),
        _int("add"), _int("change"), _int("destroy"), _int("attempts"),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("resources", sa.JSON(), nullable=False),
        _int("exit_code", nullable=True), _string("plan_checksum"),
        _time("started_at"), _time("ended_at"), _text("error"),
        sa.UniqueConstraint("run_id", "instance", name="uq_stack_results_run_instance"),
    )
    _indexes("stack_results", "instance", "run_id")

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_run_fk(nullable=True), *_instance_columns(),
        _string("decision"), _string("by"), _text("reason"), _string("plan_checksum"), _time("at"),
    )
    _indexes("approvals", "instance", "run_id")

    op.create_table(
        "lock_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_run_fk(nullable=True),
        _string("lock"), _string("instance"), _string("event"), _string("by"),
        sa.Column("waited_s", sa.Float(), nullable=False), _text("detail"), _time("at"),
    )
    _indexes("lock_events", "lock", "run_id")

    op.create_table(
        "drift_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_run_fk(nullable=True), *_instance_columns(),
        _int("add"), _int("change"), _int("destroy"),
        sa.Column("resources", sa.JSON(), nullable=False), _text("summary"), _time("detected_at"),
    )
    _indexes("drift_findings", "instance", "run_id")


def downgrade() -> None:
    for table in ("drift_findings", "lock_events", "approvals", "stack_results", "step_attempts",
                  "runs"):
        op.drop_table(table)
