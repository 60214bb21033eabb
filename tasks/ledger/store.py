"""The run ledger's database: who ran what, when, on which commit, how each instance ended.

`Ledger.open(url, home)` connects (a SQLite file under `home` by default, PostgreSQL for a
`postgresql+psycopg://` URL) and brings the schema to the newest migration on first use. Each
method is one short transaction, so the deploy flow's threads and concurrent runs can share it:
SQLite runs in WAL mode with a busy timeout and takes the write lock up front (`BEGIN IMMEDIATE`),
so two writers queue instead of failing with "database is locked".
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, col, select

from stackflow.errors import ConfigError, StackflowError
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.outcome import StackOutcome

from .models import (
    DECISIONS, LOCK_EVENTS, RUN_STATUSES, TRIGGERS, Approval, DriftFinding, LockEvent, Run,
    StackResult, StepAttempt, utcnow,
)
from .redact import Redactor

if TYPE_CHECKING:
    from stackflow.flows.recorder import RunInfo, StepRecord

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 60_000
MIGRATION_LOCK = 7_351_802_114  # pg_advisory_xact_lock key: "stackflow ledger migrations"
ERROR_LINES = 20  # how much of an error the ledger keeps (its last lines)
MISSED_HEARTBEATS = 3  # a running run silent this many intervals has crashed
SUCCESS = ("succeeded", "no changes")


class LedgerError(StackflowError):
    """The ledger database could not be reached, migrated or written."""


def _utc(at: datetime | float | None) -> datetime:
    if at is None:
        return utcnow()
    if isinstance(at, (int, float)):
        return datetime.fromtimestamp(at, timezone.utc)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _tail(text: str, lines: int = ERROR_LINES) -> str:
    kept = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


# --- connecting --------------------------------------------------------------------------------

def normalize_url(url: str) -> str:
    """A SQLAlchemy URL the ledger supports: `sqlite:///FILE` or `postgresql+psycopg://...`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"STACKFLOW_DATABASE_URL {url!r}: not a database URL") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(f"STACKFLOW_DATABASE_URL {url!r}: the ledger needs a SQLite file")
        return url
    raise ConfigError(
        f"STACKFLOW_DATABASE_URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: str) -> Engine:
    Path(make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A writer takes the lock when it starts, so it waits (busy_timeout) instead of failing
        # when it would have to upgrade a read snapshot that another writer made stale.
        write = conn.get_execution_options().get("stackflow_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_engines_lock = threading.Lock()


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "stackflow.tasks.ledger:migrations")
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision; concurrent first uses take turns."""
    from alembic import command

    if current_revision(engine) == head_revision():
        return
    with engine.execution_options(stackflow_write=True).connect() as conn:
        with conn.begin():  # one transaction: alembic sees it and adds none of its own
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def engine_for(url: str) -> Engine:
    """One engine per URL per process, migrated on first use."""
    url = normalize_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = _sqlite_engine(url)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        if url not in _migrated:
            try:
                migrate(engine)
            except SQLAlchemyError as exc:
                raise LedgerError(f"ledger {_masked(url)}: cannot migrate: {_first_line(exc)}") from exc
            _migrated.add(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, before dropping a database)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


# --- what the queries return -------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerEvent:
    """One line of an instance's history or of the audit export."""

    at: datetime
    event: str  # run started | run finished | plan | apply | result | approval | lock | drift
    run_id: int | None
    flow_run_id: str = ""
    repo: str = ""
    commit: str = ""
    trigger: str = ""
    mode: str = ""
    started_by: str = ""
    instance: str = ""
    status: str = ""  # succeeded/failed, an outcome status, approved/rejected, a lock event
    attempt: int | None = None
    exit_code: int | None = None
    plan_checksum: str = ""
    add: int | None = None
    change: int | None = None
    destroy: int | None = None
    by: str = ""
    detail: str = ""

    FIELDS = (
        "at", "event", "run_id", "flow_run_id", "repo", "commit", "trigger", "mode", "started_by",
        "instance", "status", "attempt", "exit_code", "plan_checksum", "add", "change", "destroy",
        "by", "detail",
    )

    def to_json(self) -> dict[str, Any]:
        doc = {name: getattr(self, name) for name in self.FIELDS}
        doc["at"] = self.at.isoformat()
        return doc


@dataclass(frozen=True)
class Superseding:
    """A later run that applied an instance from another commit."""

    instance: str
    run_id: int
    commit: str


class Ledger:
    """Reads and writes the ledger; every method is one short transaction (thread-safe)."""

    def __init__(self, engine: Engine, redactor: Redactor | None = None) -> None:
        self.engine = engine
        self.redactor = redactor or Redactor()
        self._writer = engine.execution_options(stackflow_write=True)

    @classmethod
    def open(cls, url: str | None, home: Path, redactor: Redactor | None = None) -> "Ledger":
        """The ledger at `url`, or the SQLite file `<home>/ledger.db`; migrated on first use."""
        return cls(engine_for(url or f"sqlite:///{Path(home) / 'ledger.db'}"), redactor)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        try:
            with Session(self._writer if write else self.engine, expire_on_commit=False) as session:
                yield session
                if write:
                    session.commit()
        except SQLAlchemyError as exc:
            raise LedgerError(f"ledger {self.url}: {_first_line(exc)}") from exc

    def _text(self, text: str) -> str:
        return self.redactor.redact(text or "")

    # --- runs ----------------------------------------------------------------------------------
    def start_run(self, info: RunInfo, heartbeat_s: float) -> int:
        if info.trigger not in TRIGGERS:
            raise ConfigError(f"trigger {info.trigger!r}: expected one of {', '.join(TRIGGERS)}")
        now = utcnow()
        retry_of = int(info.retry_of) if info.retry_of else None
        run = Run(
            flow_run_id=info.flow_run_id, flow_run_name=info.flow_run_name, repo=info.repo,
            commit=info.commit, base_ref=info.base_ref, head_ref=info.head_ref,
            trigger=info.trigger, mode=info.mode, started_by=info.started_by,
            selection=list(info.selection), retry_of=retry_of, status="running", started_at=now,
            heartbeat_at=now, alive_until=now + _alive_window(heartbeat_s),
        )
        with self._session(write=True) as session:
            session.add(run)
            session.flush()
            assert run.id is not None
            return run.id

    def heartbeat(self, run_id: int, heartbeat_s: float) -> None:
        """The run is alive; undoes a crash verdict made while it was only slow."""
        now = utcnow()
        with self._session(write=True) as session:
            session.execute(
                sa.update(Run)
                .where(col(Run.id) == run_id, col(Run.status).in_(("running", "crashed")))
                .values(heartbeat_at=now, alive_until=now + _alive_window(heartbeat_s),
                        status="running", ended_at=None, note="")
            )

    def finish_run(self, run_id: int, status: str, note: str = "") -> None:
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r}")
        with self._session(write=True) as session:
            session.execute(
                sa.update(Run).where(col(Run.id) == run_id)
                .values(status=status, ended_at=utcnow(), note=self._text(note))
            )

    def mark_crashed(self) -> list[int]:
        """Runs still `running` whose process stopped sending heartbeats become `crashed`."""
        now = utcnow()
        with self._session(write=True) as session:
            stale = session.exec(
                select(Run).where(col(Run.status) == "running", col(Run.alive_until) < now)
            ).all()
            for run in stale:
                run.status = "crashed"
                run.ended_at = run.heartbeat_at
                run.note = f"no heartbeat since {run.heartbeat_at.isoformat(timespec='seconds')}"
                session.add(run)
            return [run.id for run in stale if run.id is not None]

    def _reconcile(self) -> None:
        try:
            self.mark_crashed()
        except LedgerError as exc:  # a read-only role can still read; it just cannot mark
            log.debug("cannot mark crashed runs: %s", exc)

    def list_runs(self, limit: int = 20) -> list[Run]:
        self._reconcile()
        with self._session() as session:
            return list(session.exec(select(Run).order_by(col(Run.id).desc()).limit(limit)).all())

    def get_run(self, run_id: int) -> Run:
        with self._session() as session:
            run = session.get(Run, run_id)
        if run is None:
            raise ConfigError(f"run {run_id}: not in the ledger ({self.url})")
        return run

    def find_run(self, key: str) -> Run:
        """A run by our id, its Prefect flow run id (or a unique prefix of 8+) or flow run name."""
        self._reconcile()
        key = key.strip()
        with self._session() as session:
            if key.isdigit():
                run = session.get(Run, int(key))
                if run is not None:
                    return run
            by_flow_run = select(Run).order_by(col(Run.id))
            found = session.exec(by_flow_run.where(col(Run.flow_run_id) == key)).all()
            if found:  # a flow run Prefect retried has one ledger run per attempt: the latest
                return found[-1]
            if len(key) >= 8:
                found = session.exec(
                    by_flow_run.where(col(Run.flow_run_id).startswith(key, autoescape=True))
                ).all()
            if not found:
                found = session.exec(by_flow_run.where(col(Run.flow_run_name) == key)).all()
        if not found:
            raise ConfigError(
                f"run {key!r}: no run with that id, Prefect flow run id or name in the ledger "
                f"({self.url})"
            )
        if len({r.flow_run_id for r in found}) > 1:
            ids = ", ".join(str(r.id) for r in found)
            raise ConfigError(f"run {key!r}: matches runs {ids}; give one run id")
        return found[-1]

    # --- results as they happen ----------------------------------------------------------------
    def record_step(self, run_id: int, record: StepRecord) -> None:
        ref = record.instance
        row = StepAttempt(
            run_id=run_id, stack=ref.stack, component=ref.component, instance=str(ref),
            step=record.step, attempt=record.attempt,
            status="succeeded" if record.ok else "failed", exit_code=record.exit_code,
            plan_checksum=record.plan_checksum, started_at=_utc(record.started_at),
            ended_at=_utc(record.ended_at), error=self._text(_tail(record.error)),
        )
        with self._session(write=True) as session:
            session.add(row)

    def record_outcome(
        self, run_id: int, outcome: StackOutcome, *, started_at: datetime | float | None = None,
        ended_at: datetime | float | None = None, exit_code: int | None = None,
        plan_checksum: str = "", error: str = "",
    ) -> None:
        ended = _utc(ended_at)
        row = StackResult(
            run_id=run_id, stack=outcome.stack, component=outcome.component,
            instance=outcome.instance, status=outcome.status, reason=self._text(outcome.reason),
            cause=self._text(outcome.cause), add=outcome.add, change=outcome.change,
            destroy=outcome.destroy, attempts=outcome.attempts, duration_s=outcome.duration_s,
            provisional=outcome.provisional,
            resources=self.redactor.redact_all(outcome.resources),
            exit_code=exit_code, plan_checksum=plan_checksum,
            started_at=_utc(started_at) if started_at is not None else ended, ended_at=ended,
            error=self._text(_tail(error)),
        )
        with self._session(write=True) as session:
            session.add(row)

    def _run_id(self, run: int | str | None) -> int | None:
        if run is None or run == "":
            return None
        if isinstance(run, int):
            return run
        return self.find_run(run).id

    def record_approval(
        self, instance: InstanceRef | str, decision: str, *, by: str, reason: str = "",
        run: int | str | None = None, plan_checksum: str = "", at: datetime | None = None,
    ) -> int:
        """A gate's answer: `decision` approved|rejected, by whom, why, for which plan."""
        if decision not in DECISIONS:
            raise ConfigError(f"approval decision {decision!r}: expected approved or rejected")
        ref = instance if isinstance(instance, InstanceRef) else InstanceRef.parse(instance)
        run_id = self._run_id(run)
        with self._session(write=True) as session:
            row = Approval(
                run_id=run_id, stack=ref.stack, component=ref.component,
                instance=str(ref), decision=decision, by=by, reason=self._text(reason),
                plan_checksum=plan_checksum, at=_utc(at),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    def record_lock_event(
        self, lock: str, event: str, *, run: int | str | None = None,
        instance: InstanceRef | str = "", by: str = "", waited_s: float = 0.0, detail: str = "",
        at: datetime | None = None,
    ) -> int:
        """A lock `event` (taken | waited | released | forced) on `lock`."""
        if event not in LOCK_EVENTS:
            raise ConfigError(f"lock event {event!r}: expected one of {', '.join(LOCK_EVENTS)}")
        run_id = self._run_id(run)
        with self._session(write=True) as session:
            row = LockEvent(
                run_id=run_id, lock=lock, instance=str(instance), event=event,
                by=by, waited_s=waited_s, detail=self._text(detail), at=_utc(at),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    def record_drift(
        self, instance: InstanceRef | str, *, run: int | str | None = None, add: int = 0,
        change: int = 0, destroy: int = 0, resources: Sequence[str] = (), summary: str = "",
        at: datetime | None = None,
    ) -> int:
        """A drift finding: the instance's infrastructure differs from its code."""
        ref = instance if isinstance(instance, InstanceRef) else InstanceRef.parse(instance)
        run_id = self._run_id(run)
        with self._session(write=True) as session:
            row = DriftFinding(
                run_id=run_id, stack=ref.stack, component=ref.component,
                instance=str(ref), add=add, change=change, destroy=destroy,
                resources=self.redactor.redact_all(resources), summary=self._text(summary),
                detected_at=_utc(at),
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    # --- reads -----------------------------------------------------------------------------------
    def results(self, run_id: int) -> list[StackResult]:
        with self._session() as session:
            return list(session.exec(
                select(StackResult).where(col(StackResult.run_id) == run_id)
                .order_by(col(StackResult.id))
            ).all())

    def outcomes(self, run_id: int) -> list[StackOutcome]:
        """The run's outcomes in its graph order (as `deploy --format json` printed them)."""
        run = self.get_run(run_id)
        by_instance = {r.instance: _outcome(r) for r in self.results(run_id)}
        ordered = [by_instance.pop(name) for name in run.selection if name in by_instance]
        return ordered + list(by_instance.values())

    def result_counts(self, run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """For each run, how many instances ended in each status."""
        ids = list(run_ids)
        if not ids:
            return {}
        query = (
            sa.select(col(StackResult.run_id), col(StackResult.status), sa.func.count())
            .where(col(StackResult.run_id).in_(ids))
            .group_by(col(StackResult.run_id), col(StackResult.status))
        )
        counts: dict[int, dict[str, int]] = {i: {} for i in ids}
        with self._session() as session:
            for run_id, status, n in session.execute(query):
                counts[run_id][status] = n
        return counts

    def steps(self, run_id: int) -> list[StepAttempt]:
        with self._session() as session:
            return list(session.exec(
                select(StepAttempt).where(col(StepAttempt.run_id) == run_id)
                .order_by(col(StepAttempt.id))
            ).all())

    def approvals(self, *, run_id: int | None = None, instance: str | None = None) -> list[Approval]:
        query = select(Approval).order_by(col(Approval.id))
        if run_id is not None:
            query = query.where(col(Approval.run_id) == run_id)
        if instance is not None:
            query = query.where(col(Approval.instance) == instance)
        with self._session() as session:
            return list(session.exec(query).all())

    def lock_events(self, *, lock: str | None = None) -> list[LockEvent]:
        query = select(LockEvent).order_by(col(LockEvent.id))
        if lock is not None:
            query = query.where(col(LockEvent.lock) == lock)
        with self._session() as session:
            return list(session.exec(query).all())

    def drift_findings(self, *, instance: str | None = None) -> list[DriftFinding]:
        query = select(DriftFinding).order_by(col(DriftFinding.id))
        if instance is not None:
            query = query.where(col(DriftFinding.instance) == instance)
        with self._session() as session:
            return list(session.exec(query).all())

    def known_durations(
        self, instances: Iterable[InstanceRef], *, mode: str | None = None, recent: int = 10
    ) -> dict[InstanceRef, float]:
        """Median duration of each instance's last `recent` successful results (in `mode`)."""
        refs = {str(ref): ref for ref in instances}
        durations: dict[InstanceRef, list[float]] = {}
        names = sorted(refs)
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            rank = sa.func.row_number().over(
                partition_by=StackResult.instance, order_by=col(StackResult.id).desc()
            ).label("rank")
            inner = (
                sa.select(col(StackResult.instance), col(StackResult.duration_s), rank)
                .join(Run, col(Run.id) == col(StackResult.run_id))
                .where(col(StackResult.instance).in_(chunk), col(StackResult.status).in_(SUCCESS),
                       col(StackResult.duration_s) > 0)
            )
            if mode is not None:
                inner = inner.where(col(Run.mode) == mode)
            sub = inner.subquery()
            query = sa.select(sub.c.instance, sub.c.duration_s).where(sub.c.rank <= recent)
            with self._session() as session:
                for name, duration in session.execute(query):
                    durations.setdefault(refs[name], []).append(float(duration))
        return {ref: statistics.median(values) for ref, values in durations.items()}

    def applied_since(self, run: Run, instances: Iterable[str]) -> list[Superseding]:
        """Later runs that applied any of `instances` from a commit other than `run`'s."""
        names = sorted(set(instances))
        if not names or not run.commit:
            return []
        query = (
            sa.select(col(StackResult.instance), col(Run.id), col(Run.commit))
            .join(Run, col(Run.id) == col(StackResult.run_id))
            .where(col(Run.id) > run.id, col(Run.commit) != run.commit, col(Run.commit) != "",
                   col(Run.mode).in_(("apply", "destroy")), col(StackResult.status).in_(SUCCESS),
                   col(StackResult.instance).in_(names))
            .order_by(col(Run.id))
        )
        with self._session() as session:
            return [Superseding(i, r, c) for i, r, c in session.execute(query)]

    # --- history and audit ---------------------------------------------------------------------
    def events(self, *, since: datetime | None = None, instance: str | None = None) -> list[LedgerEvent]:
        """Everything the ledger knows, as one time-ordered list (optionally one instance's)."""
        self._reconcile()
        since = _utc(since) if since is not None else None
        with self._session() as session:
            runs = {r.id: r for r in session.exec(select(Run)).all()}

            def where(query: Any, model: Any, at: Any) -> Any:
                if since is not None:
                    query = query.where(at >= since)
                if instance is not None:
                    query = query.where(col(model.instance) == instance)
                return query

            results = session.exec(where(select(StackResult), StackResult, col(StackResult.ended_at))).all()
            steps = session.exec(where(select(StepAttempt), StepAttempt, col(StepAttempt.ended_at))).all()
            approvals = session.exec(where(select(Approval), Approval, col(Approval.at))).all()
            locks = session.exec(where(select(LockEvent), LockEvent, col(LockEvent.at))).all()
            drift = session.exec(where(select(DriftFinding), DriftFinding, col(DriftFinding.detected_at))).all()

        counts = {(r.run_id, r.instance): r for r in results}
        events: list[LedgerEvent] = []

        def run_facts(run_id: int | None) -> dict[str, Any]:
            run = runs.get(run_id) if run_id is not None else None
            if run is None:
                return {"run_id": run_id}
            return dict(run_id=run.id, flow_run_id=run.flow_run_id, repo=run.repo, commit=run.commit,
                        trigger=run.trigger, mode=run.mode, started_by=run.started_by)

        if instance is None:
            for run in runs.values():
                if since is None or run.started_at >= since:
                    events.append(LedgerEvent(run.started_at, "run started", by=run.started_by,
                                              detail=", ".join(run.selection),
                                              status="running", **(run_facts(run.id))))
                if run.ended_at is not None and (since is None or run.ended_at >= since):
                    events.append(LedgerEvent(run.ended_at, "run finished", status=run.status,
                                              by=run.started_by, detail=run.note,
                                              **(run_facts(run.id))))
        for s in steps:
            result = counts.get((s.run_id, s.instance))
            facts = run_facts(s.run_id)
            events.append(LedgerEvent(
                s.ended_at, s.step, instance=s.instance, status=s.status, attempt=s.attempt,
                exit_code=s.exit_code, plan_checksum=s.plan_checksum,
                add=result.add if result else None, change=result.change if result else None,
                destroy=result.destroy if result else None, by=facts.get("started_by", ""),
                detail=s.error, **facts,
            ))
        for r in results:
            facts = run_facts(r.run_id)
            reason = r.reason + (f": {r.cause}" if r.cause else "")
            events.append(LedgerEvent(
                r.ended_at, "result", instance=r.instance, status=r.status, attempt=r.attempts,
                exit_code=r.exit_code, plan_checksum=r.plan_checksum, add=r.add, change=r.change,
                destroy=r.destroy, by=facts.get("started_by", ""), detail=reason, **facts,
            ))
        for a in approvals:
            events.append(LedgerEvent(a.at, "approval", instance=a.instance, status=a.decision,
                                      plan_checksum=a.plan_checksum, by=a.by, detail=a.reason,
                                      **(run_facts(a.run_id))))
        for lk in locks:
            detail = f"lock {lk.lock}" + (f", waited {lk.waited_s:.1f}s" if lk.waited_s else "")
            detail += f": {lk.detail}" if lk.detail else ""
            events.append(LedgerEvent(lk.at, "lock", instance=lk.instance, status=lk.event, by=lk.by,
                                      detail=detail, **(run_facts(lk.run_id))))
        for d in drift:
            events.append(LedgerEvent(d.detected_at, "drift", instance=d.instance, status="drifted",
                                      add=d.add, change=d.change, destroy=d.destroy, detail=d.summary,
                                      **(run_facts(d.run_id))))
        order = {"run started": 0, "plan": 1, "approval": 2, "lock": 2, "apply": 3, "result": 4,
                 "drift": 5, "run finished": 6}
        events.sort(key=lambda e: (e.at, e.run_id or 0, order.get(e.event, 9)))
        return events

    def history(self, instance: InstanceRef | str) -> list[LedgerEvent]:
        """Every plan, apply, result, approval, lock and drift finding of one instance."""
        ref = instance if isinstance(instance, InstanceRef) else InstanceRef.parse(instance)
        return self.events(instance=str(ref))


def _alive_window(heartbeat_s: float) -> timedelta:
    return timedelta(seconds=MISSED_HEARTBEATS * heartbeat_s + 1.0)


def _outcome(row: StackResult) -> StackOutcome:
    return StackOutcome(
        row.stack, row.component, row.status,  # type: ignore[arg-type]
        reason=row.reason, cause=row.cause, add=row.add, change=row.change, destroy=row.destroy,
        attempts=row.attempts, duration_s=row.duration_s, provisional=row.provisional,
        resources=list(row.resources or []),
    )
