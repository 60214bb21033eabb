"""The ledger's store on SQLite and PostgreSQL: schema, writes, lookups, crash verdicts, queries."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from stackflow.errors import ConfigError
from stackflow.flows.recorder import RunInfo, StepRecord
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.outcome import StackOutcome
from stackflow.tasks.ledger.models import metadata
from stackflow.tasks.ledger.store import Ledger, current_revision, head_revision

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(ledger: Ledger, *, commit: str = "c1", mode: str = "apply", name: str = "apply repo",
         flow_run_id: str | None = None, heartbeat_s: float = 60.0, selection=()) -> int:
    return ledger.start_run(RunInfo(flow_run_id=flow_run_id or f"fr-{time.monotonic_ns()}",
                                    flow_run_name=name, repo="/repo", commit=commit, mode=mode,
                                    started_by="alice@laptop", selection=list(selection)),
                            heartbeat_s)


def _ok(name: str, duration: float = 1.0, status: str = "succeeded") -> StackOutcome:
    stack, component = name.split("/")
    return StackOutcome(stack, component, status, "applied", duration_s=duration, add=1)  # type: ignore[arg-type]


def test_schema_is_migrated_on_first_use_and_matches_the_models(ledger: Ledger):
    assert current_revision(ledger.engine) == head_revision() == "0001"
    with ledger.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    # opening again is a no-op, not a second migration
    again = Ledger.open(str(ledger.engine.url.render_as_string(hide_password=False)), Path("/nonexistent"))
    assert current_revision(again.engine) == "0001"


def test_results_steps_and_run_end_are_stored_as_given(ledger: Ledger):
    run = _run(ledger, selection=["dev/a", "dev/b"])
    t0 = time.time()
    ledger.record_step(run, StepRecord(InstanceRef("dev", "a"), "plan", 1, t0, t0 + 2, ok=True,
                                       exit_code=2, plan_checksum="abc"))
    ledger.record_outcome(run, _ok("dev/a", 2.0), started_at=t0, ended_at=t0 + 3, plan_checksum="abc",
                          exit_code=0)
    ledger.record_outcome(run, StackOutcome("dev", "b", "failed", "run error", "boom"),
                          error="line1\nline2\n" + "\n".join(f"l{i}" for i in range(40)))
    ledger.finish_run(run, "failed")

    saved = ledger.get_run(run)
    assert (saved.status, saved.commit, saved.started_by) == ("failed", "c1", "alice@laptop")
    assert saved.ended_at is not None and saved.ended_at.tzinfo is not None
    outcomes = ledger.outcomes(run)
    assert [o.instance for o in outcomes] == ["dev/a", "dev/b"]
    assert outcomes[0].to_json() == _ok("dev/a", 2.0).to_json()
    results = {r.instance: r for r in ledger.results(run)}
    assert results["dev/a"].plan_checksum == "abc"
    assert abs(results["dev/a"].started_at.timestamp() - t0) < 0.01
    assert results["dev/b"].error.splitlines() == [f"l{i}" for i in range(20, 40)]  # last lines
    step = ledger.steps(run)[0]
    assert (step.step, step.attempt, step.status, step.exit_code) == ("plan", 1, "succeeded", 2)


def test_approvals_lock_events_and_drift_are_recorded_and_redacted(ledger: Ledger):
    run = _run(ledger, flow_run_id="11111111-2222-3333-4444-555555555555")
    ledger.record_approval("prod/vpc", "approved", by="bob", reason="LGTM", run=run,
                           plan_checksum="sha1")
    ledger.record_approval(InstanceRef("prod", "db"), "rejected", by="carol",
                           reason="uses token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                           run="11111111-2222-3333-4444-555555555555")
    ledger.record_lock_event("stack:prod", "waited", run=run, instance="prod/vpc", by="run 1",
                             waited_s=12.5)
    ledger.record_lock_event("stack:prod", "taken", run=run, by="run 1")
    ledger.record_lock_event("stack:prod", "forced", by="admin", detail="stuck since yesterday")
    ledger.record_drift("prod/vpc", change=2, resources=["aws_vpc.this"], summary="tags changed")

    approvals = ledger.approvals(run_id=run)
    assert [(a.instance, a.decision, a.by) for a in approvals] == [
        ("prod/vpc", "approved", "bob"), ("prod/db", "rejected", "carol")]
    assert "ghp_" not in approvals[1].reason and "[REDACTED]" in approvals[1].reason
    assert [e.event for e in ledger.lock_events(lock="stack:prod")] == ["waited", "taken", "forced"]
    assert ledger.lock_events()[2].run_id is None
    assert ledger.drift_findings(instance="prod/vpc")[0].change == 2

    history = ledger.history("prod/vpc")
    assert [(e.event, e.status) for e in history] == [
        ("approval", "approved"), ("lock", "waited"), ("drift", "drifted")]
    assert history[0].plan_checksum == "sha1" and history[0].commit == "c1"

    with pytest.raises(ConfigError, match="decision 'maybe'"):
        ledger.record_approval("prod/vpc", "maybe", by="x")
    with pytest.raises(ConfigError, match="lock event 'stolen'"):
        ledger.record_lock_event("stack:prod", "stolen")


def test_a_run_is_found_by_id_prefect_flow_run_id_prefix_or_name(ledger: Ledger):
    first = _run(ledger, flow_run_id="aaaaaaaa-0000-0000-0000-000000000001", name="apply-one")
    second = _run(ledger, flow_run_id="bbbbbbbb-0000-0000-0000-000000000002", name="twin")
    third = _run(ledger, flow_run_id="cccccccc-0000-0000-0000-000000000003", name="twin")
    assert ledger.find_run(str(first)).id == first
    assert ledger.find_run("bbbbbbbb-0000-0000-0000-000000000002").id == second
    assert ledger.find_run("cccccccc").id == third
    assert ledger.find_run("apply-one").id == first
    with pytest.raises(ConfigError, match=rf"matches runs {second}, {third}"):
        ledger.find_run("twin")
    with pytest.raises(ConfigError, match="no run with that id"):
        ledger.find_run("nope")


def test_a_run_whose_heartbeat_stops_becomes_crashed_and_a_late_beat_revives_it(ledger: Ledger):
    live = _run(ledger, heartbeat_s=60)
    silent = _run(ledger, heartbeat_s=0.1)
    time.sleep(1.5)  # 3 missed beats + 1 s grace
    assert {r.id: r.status for r in ledger.list_runs()} == {live: "running", silent: "crashed"}
    crashed = ledger.get_run(silent)
    assert crashed.ended_at == crashed.heartbeat_at and "no heartbeat since" in crashed.note
    ledger.heartbeat(silent, 60)  # it was only slow
    assert ledger.get_run(silent).status == "running"
    ledger.finish_run(silent, "succeeded")
    ledger.heartbeat(silent, 60)  # a beat after the end changes nothing
    assert ledger.get_run(silent).status == "succeeded"


def test_known_durations_are_medians_of_recent_successes_in_the_same_mode(ledger: Ledger):
    for duration in (10.0, 30.0, 20.0):
        run = _run(ledger)
        ledger.record_outcome(run, _ok("dev/slow", duration))
        ledger.record_outcome(run, _ok("dev/fast", duration / 10))
    failed = _run(ledger)
    ledger.record_outcome(failed, StackOutcome("dev", "slow", "failed", duration_s=500.0))
    plan_only = _run(ledger, mode="plan")
    ledger.record_outcome(plan_only, _ok("dev/slow", 1000.0))
    for _ in range(12):  # only the last 10 count
        ledger.record_outcome(_run(ledger), _ok("dev/drifting", 99.0))
    durations = ledger.known_durations(
        [InstanceRef("dev", "slow"), InstanceRef("dev", "fast"), InstanceRef("dev", "new"),
         InstanceRef("dev", "drifting")], mode="apply")
    assert durations == {InstanceRef("dev", "slow"): 20.0, InstanceRef("dev", "fast"): 2.0,
                         InstanceRef("dev", "drifting"): 99.0}


def test_applied_since_names_later_runs_of_other_commits_on_those_instances(ledger: Ledger):
    old = _run(ledger, commit="c1")
    same_commit = _run(ledger, commit="c1")
    ledger.record_outcome(same_commit, _ok("dev/a"))
    plan_run = _run(ledger, commit="c2", mode="plan")
    ledger.record_outcome(plan_run, _ok("dev/a"))
    newer = _run(ledger, commit="c2")
    ledger.record_outcome(newer, _ok("dev/a"))
    ledger.record_outcome(newer, _ok("dev/other"))
    found = ledger.applied_since(ledger.get_run(old), ["dev/a", "dev/b"])
    assert [(s.instance, s.run_id, s.commit) for s in found] == [("dev/a", newer, "c2")]
    assert ledger.applied_since(ledger.get_run(newer), ["dev/a"]) == []


def test_audit_events_are_time_ordered_and_filtered_by_date(ledger: Ledger):
    run = _run(ledger, selection=["dev/a"])
    t0 = time.time()
    ledger.record_step(run, StepRecord(InstanceRef("dev", "a"), "plan", 1, t0, t0 + 0.1, ok=True,
                                       plan_checksum="p1"))
    ledger.record_approval("dev/a", "approved", by="bob", run=run, plan_checksum="p1")
    ledger.record_step(run, StepRecord(InstanceRef("dev", "a"), "apply", 1, t0 + 0.2, t0 + 0.3,
                                       ok=True, plan_checksum="p1"))
    ledger.record_outcome(run, _ok("dev/a"), started_at=t0, ended_at=time.time() + 1)
    ledger.finish_run(run, "succeeded")
    ledger.record_approval("dev/a", "approved", by="old", at=datetime(2020, 1, 1, tzinfo=timezone.utc))

    events = ledger.events(since=datetime.now(timezone.utc) - timedelta(hours=1))
    kinds = [(e.event, e.status) for e in events]
    assert kinds[0] == ("run started", "running")
    assert ("plan", "succeeded") in kinds and ("apply", "succeeded") in kinds
    assert kinds.index(("approval", "approved")) < kinds.index(("apply", "succeeded"))
    assert all(e.by != "old" for e in events)
    assert len(ledger.events()) == len(events) + 1
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_parallel_runs_in_separate_processes_write_without_database_locked(ledger_url: str, tmp_path):
    """Four processes open a fresh ledger at once (racing to migrate it), then each writes a run of
    50 instances from 4 threads while beating its heartbeat every 50 ms."""
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.ledger.ledger_writer", ledger_url,
                          str(tmp_path / "home"), str(i), "50"],
                         cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    outputs = [w.communicate(timeout=180) for w in writers]
    for writer, (out, err) in zip(writers, outputs):
        assert writer.returncode == 0, err
        assert "locked" not in err
    ledger = Ledger.open(ledger_url, tmp_path)
    runs = ledger.list_runs(limit=50)
    assert len(runs) == 4 and {r.status for r in runs} == {"succeeded"}
    for run in runs:
        assert run.id is not None
        assert len(ledger.results(run.id)) == 50
        assert len(ledger.steps(run.id)) == 100


def test_the_recorder_writes_a_gate_decision_against_its_run(ledger: Ledger):
    from stackflow.tasks.ledger.recorder import LedgerRecorder

    recorder = LedgerRecorder(ledger, heartbeat_s=60)
    recorder.run_started(RunInfo("fr-gate", "gate", "/repo", "c9", "apply", trigger="merge"))
    recorder.approval_decided(InstanceRef("prod", "vpc"), "approved", "dana", "ok", "sha-9")
    recorder.run_finished("succeeded")
    [event] = ledger.history("prod/vpc")
    assert (event.event, event.status, event.by, event.plan_checksum, event.run_id, event.trigger) == (
        "approval", "approved", "dana", "sha-9", recorder.run_id, "merge")
