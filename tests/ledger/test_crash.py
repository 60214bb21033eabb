"""A deploy process killed mid-run leaves a true ledger: every result up to the kill, and `crashed`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.settings import load_settings
from stackflow.tasks.ledger.recorder import open_ledger

from .conftest import write_repo
from .scripted_steps import SCRIPT_ENV, read_log, write_script

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("prefect_api", "ledger_env")


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early:\n{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never appeared")
        time.sleep(0.05)


def test_a_killed_deploy_shows_every_result_up_to_the_kill_and_the_run_as_crashed(
    ledger_env, tmp_path, capsys, monkeypatch
):
    from prefect.settings import PREFECT_API_URL

    repo = write_repo(tmp_path / "repo", {"b": ["a"], "c": ["b", "x"], "d": ["c"], "x": []})
    markers, log = tmp_path / "markers", tmp_path / "steps.log"
    env = {
        **os.environ, **ledger_env,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # this session's test server
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "STACKFLOW_LEDGER_HEARTBEAT_S": "0.3",
        # a SIGKILLed run's stack locks free only when their leases end (minutes, and never on the
        # test server, which runs no lease reaper): this test is about the ledger, not locks
        "STACKFLOW_LOCKS": "false",
        SCRIPT_ENV: write_script(log=str(log), markers=str(markers), durations={"dev/c": 300}),
    }
    child = subprocess.Popen([sys.executable, "-m", "tests.ledger.deploy_child", str(repo)],
                             cwd=REPO_ROOT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(markers / "dev__c", child)  # c's plan has started: a, b and x are done
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    killed_at = time.monotonic()

    ledger = open_ledger(load_settings())
    run = ledger.list_runs(1)[0]
    assert run.id is not None
    done = {o.instance: o.status for o in ledger.outcomes(run.id)}
    assert done == {"dev/a": "succeeded", "dev/b": "succeeded", "dev/x": "succeeded"}
    steps = {(s.instance, s.step) for s in ledger.steps(run.id)}
    assert steps == {(i, s) for i in ("dev/a", "dev/b", "dev/x") for s in ("plan", "apply")}
    # every step the child finished is in the ledger (c's plan was cut off by the kill)
    assert sorted(read_log(log)) == sorted([(s, i) for i, s in steps] + [("plan", "dev/c")])

    while time.monotonic() - killed_at < 2.5:  # three missed 0.3 s heartbeats, plus grace
        time.sleep(0.2)
    code = main(["runs", "show", str(run.id), "--format", "json"])
    shown = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (shown["run"]["status"], shown["run"]["trigger"], shown["run"]["started_by"]) == (
        "crashed", "api", "child")
    assert "no heartbeat since" in shown["run"]["note"]
    assert shown["unfinished"] == ["dev/c", "dev/d"]

    # what the crash left undone is what a retry runs
    import stackflow.flows.deploy as deploy_module

    from .scripted_steps import ScriptedSteps

    monkeypatch.setattr(deploy_module, "TerraformSteps", ScriptedSteps)
    monkeypatch.setenv("STACKFLOW_LOCKS", "false")
    monkeypatch.setenv(SCRIPT_ENV, write_script(log=str(tmp_path / "retry.log")))
    code = main(["retry", str(run.id), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    assert [(o["component"], o["status"]) for o in json.loads(out)] == [("c", "succeeded"),
                                                                       ("d", "succeeded")]
    assert sorted(read_log(tmp_path / "retry.log")) == [("apply", "dev/c"), ("apply", "dev/d"),
                                                        ("plan", "dev/c"), ("plan", "dev/d")]
