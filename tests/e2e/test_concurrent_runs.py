"""Ten runs at once over the same instances: the state locks queue them, none overlap, all finish."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime

import pytest

pytestmark = [pytest.mark.terraform, pytest.mark.prefect_server, pytest.mark.xdist_group("e2e")]

RUNS = 10



def test_ten_concurrent_runs_never_overlap_on_one_instance_and_all_complete(
    prefect_server, sandbox, fixture_repo, tmp_path
):
    repo = fixture_repo("tiny")
    home = tmp_path / "home"  # one ledger (SQLite, WAL) shared by every run
    procs = []
    for i in range(RUNS):
        env = prefect_server.env(sandbox.env(os.environ))
        env.update(STACKFLOW_HOME=str(home), RUN_LABEL=f"run-{i}", STACKFLOW_PARALLELISM="2")
        out = open(tmp_path / f"run{i}.out", "w")
        err = open(tmp_path / f"run{i}.err", "w")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "stackflow", "deploy", "--repo", str(repo), "--stack", "shared",
             "--lock-timeout", "1200", "--format", "json"],
            env=env, stdout=out, stderr=err, text=True))
    for i, proc in enumerate(procs):
        assert proc.wait(timeout=1800) == 0, (tmp_path / f"run{i}.err").read_text()[-2000:]
        outcomes = json.loads((tmp_path / f"run{i}.out").read_text())
        assert {o["status"] for o in outcomes} <= {"succeeded", "no changes"}

    # From the ledger's recorded step times: per instance, each run's window from the start of its
    # plan to the end of its apply must not overlap any other run's window.
    db = sqlite3.connect(home / "ledger.db")
    rows = db.execute("SELECT instance, run_id, started_at, ended_at FROM step_attempts").fetchall()
    windows: dict[str, dict[int, list[datetime]]] = {}
    for instance, run_id, started, ended in rows:
        start, end = datetime.fromisoformat(str(started)), datetime.fromisoformat(str(ended))
        span = windows.setdefault(instance, {}).setdefault(run_id, [start, end])
        span[0], span[1] = min(span[0], start), max(span[1], end)
    assert set(windows) == {"shared/queue-a", "shared/queue-b"}
    # every lock taken was released, and both are in the ledger for every run
    events = db.execute("SELECT event, COUNT(*) FROM lock_events GROUP BY event").fetchall()
    assert dict(events) == {"taken": 2 * RUNS, "released": 2 * RUNS}
    for instance, by_run in windows.items():
        assert len(by_run) == RUNS, instance
        spans = sorted(by_run.values())
        for before, after in zip(spans, spans[1:]):
            assert before[1] <= after[0], f"{instance}: runs overlapped: {before} and {after}"
