"""The deploy flow writes the ledger as it goes; `runs`, `history`, `audit` and `retry` read it.

The real deploy flow on a real Prefect engine, with scripted steps in place of terraform.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from stackflow.cli import main
from stackflow.flows.deploy import DeployFailed
from stackflow.settings import load_settings
from stackflow.stacks_loader.outcome import StackOutcome
from stackflow.tasks.ledger.recorder import open_ledger
from stackflow.tasks.ledger.retry import prepare_retry

from .conftest import write_repo
from .scripted_steps import read_log

pytestmark = pytest.mark.usefixtures("prefect_api", "ledger_env")

# a → b → c → d ; a → x ; y alone
EDGES = {"b": ["a"], "c": ["b"], "d": ["c"], "x": ["a"], "y": []}


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _latest_run_id() -> int:
    return open_ledger(load_settings()).list_runs(1)[0].id  # type: ignore[return-value]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def test_each_result_is_in_the_ledger_before_the_next_instance_starts(
    scripted_deploy, script, tmp_path
):
    repo = write_repo(tmp_path / "repo", {"b": ["a"], "c": ["b"]})
    markers = tmp_path / "markers"
    script(durations={"dev/c": 2.0}, markers=str(markers))
    seen: dict[str, str] = {}

    def watch() -> None:  # while c's plan is still sleeping, look at the ledger from outside
        deadline = time.monotonic() + 60
        while not (markers / "dev__c").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        ledger = open_ledger(load_settings())
        run = ledger.list_runs(1)[0]
        seen["run"] = run.status
        seen.update({o.instance: o.status for o in ledger.outcomes(run.id)})  # type: ignore[arg-type]

    watcher = threading.Thread(target=watch)
    watcher.start()
    scripted_deploy.deploy(repo=str(repo), all_instances=True)
    watcher.join()
    assert seen == {"run": "running", "dev/a": "succeeded", "dev/b": "succeeded"}
    assert open_ledger(load_settings()).list_runs(1)[0].status == "succeeded"


def test_runs_show_gives_each_instance_the_fields_of_deploy_json(scripted_deploy, script, tmp_path,
                                                                  capsys):
    repo = write_repo(tmp_path / "repo", EDGES)
    script(fail=["dev/b"])
    code, out, err = _cli(capsys, "deploy", "--repo", str(repo), "--all", "--format", "json")
    assert code == 1, err
    deployed = json.loads(out)

    code, out, _ = _cli(capsys, "runs", "list", "--format", "json")
    assert code == 0
    listed = json.loads(out)[0]
    assert (listed["status"], listed["trigger"], listed["mode"]) == ("failed", "manual", "apply")
    assert listed["results"] == {"failed": 1, "skipped": 2, "succeeded": 3}
    for key in (str(listed["id"]), listed["flow_run_id"], listed["flow_run_id"][:8]):
        code, out, _ = _cli(capsys, "runs", "show", key, "--format", "json")
        shown = json.loads(out)
        assert shown["instances"] == deployed
        assert shown["run"]["id"] == listed["id"] and shown["unfinished"] == []
    assert {(s["instance"], s["step"]) for s in shown["steps"]} >= {("dev/a", "plan"), ("dev/a", "apply"),
                                                                      ("dev/b", "plan")}
    code, out, _ = _cli(capsys, "runs", "show", str(listed["id"]))
    assert "status:    failed" in out
    assert "dev/d" in out and "ancestor failed: dev/b" in out
    code, out, _ = _cli(capsys, "runs", "list")
    assert out.splitlines()[1].split()[:3] == [str(listed["id"]), "failed", "apply"]


def test_secrets_never_reach_the_ledger(scripted_deploy, script, tmp_path, monkeypatch):
    tf = {"b": 'variable "db_password" {\n  type      = string\n  sensitive = true\n}\n'
               'variable "stage" {\n  type = string\n}\n'}
    repo = write_repo(tmp_path / "repo", {"b": ["a"]}, tf=tf,
                      vars={"b": {"db_password": "hunter2-db-pass", "token_value": "plain-tok-99"}})
    monkeypatch.setenv("GITHUB_TOKEN", "env-token-abc123")
    monkeypatch.setenv("STACKFLOW_TEST_EXTRA", "unused")
    script(fail=["dev/b"], echo_vars=True)
    with pytest.raises(DeployFailed) as failed:
        scripted_deploy.deploy(repo=str(repo), all_instances=True)
    assert "hunter2-db-pass" in failed.value.outcomes[1].cause  # the flow itself saw it
    ledger = open_ledger(load_settings())
    with ledger.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("runs", "step_attempts", "stack_results")
                         for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
    assert "invalid CIDR" in dump and "[REDACTED]" in dump
    assert "hunter2-db-pass" not in dump and "plain-tok-99" not in dump


def test_durations_in_the_ledger_order_the_critical_path(scripted_deploy, script, tmp_path):
    repo = write_repo(tmp_path / "repo", {"a": [], "z": []})
    ledger = open_ledger(load_settings())
    from stackflow.flows.recorder import RunInfo

    for duration_a, duration_z in ((1.0, 50.0), (2.0, 40.0)):
        run = ledger.start_run(RunInfo("old", "old", str(repo), "", "apply"), 60)
        ledger.record_outcome(run, StackOutcome("dev", "a", "succeeded", duration_s=duration_a))
        ledger.record_outcome(run, StackOutcome("dev", "z", "succeeded", duration_s=duration_z))
        ledger.finish_run(run, "succeeded")
    log = script()
    scripted_deploy.deploy(repo=str(repo), all_instances=True, parallelism=1)
    assert [name for step, name in read_log(log) if step == "plan"] == ["dev/z", "dev/a"]


def test_retry_runs_exactly_the_failed_and_skipped_instances_once_each(
    scripted_deploy, script, tmp_path, capsys
):
    repo = write_repo(tmp_path / "repo", EDGES)
    log = script(fail=["dev/b"])
    code, _, _ = _cli(capsys, "deploy", "--repo", str(repo), "--all")
    assert code == 1
    first = _latest_run_id()
    assert read_log(log).count(("apply", "dev/a")) == 1

    log.unlink()
    script()  # the fault is fixed
    code, out, err = _cli(capsys, "retry", str(first), "--format", "json")
    assert code == 0, err
    assert f"retry of run {first}" in err and "3 succeeded instance(s) left alone" in err
    assert {(o["instance"] if "instance" in o else f"{o['stack']}/{o['component']}", o["status"])
            for o in json.loads(out)} == {("dev/b", "succeeded"), ("dev/c", "succeeded"),
                                          ("dev/d", "succeeded")}
    steps = read_log(log)
    assert sorted(steps) == sorted([(s, n) for n in ("dev/b", "dev/c", "dev/d") for s in ("plan", "apply")])

    ledger = open_ledger(load_settings())
    retry = ledger.list_runs(1)[0]
    assert (retry.trigger, retry.retry_of, retry.status) == ("retry", first, "succeeded")
    assert retry.commit == ledger.get_run(first).commit == ""  # a plain folder: no commit
    assert retry.selection == ["dev/b", "dev/c", "dev/d"]

    code, out, _ = _cli(capsys, "history", "dev/b")
    lines = [line for line in out.splitlines()[1:] if " lock " not in line]  # lock events too
    assert "plan" in lines[0] and "failed" in lines[0]
    assert any("apply" in line and "succeeded" in line for line in lines[1:])
    code, out, _ = _cli(capsys, "history", "dev/b", "--format", "json")
    events = [e for e in json.loads(out) if e["event"] != "lock"]
    assert {e["status"] for e in json.loads(out) if e["event"] == "lock"} >= {"taken", "released"}
    assert [(e["event"], e["status"], e["run_id"]) for e in events] == [
        ("plan", "failed", first), ("result", "failed", first),
        ("plan", "succeeded", retry.id), ("apply", "succeeded", retry.id),
        ("result", "succeeded", retry.id)]
    code, out, _ = _cli(capsys, "audit", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["event"] for r in rows} >= {"run started", "run finished", "plan", "apply", "result"}
    assert any(r["event"] == "run started" and r["trigger"] == "retry" for r in rows)
    code, out, _ = _cli(capsys, "audit", "export", "--since", "2999-01-01", "--format", "json")
    assert json.loads(out) == []


def test_retry_from_a_deployment_parameter_uses_the_runs_repo_and_mode(scripted_deploy, script, tmp_path):
    repo = write_repo(tmp_path / "repo", EDGES)
    log = script(fail=["dev/c"])
    with pytest.raises(DeployFailed):
        scripted_deploy.deploy(repo=str(repo), all_instances=True, mode="plan")
    first = _latest_run_id()
    log.unlink()
    script()
    docs = scripted_deploy.deploy(retry_of=str(first), trigger="api", started_by="ui-user")
    assert [d["component"] for d in docs] == ["c", "d"]
    assert read_log(log) == [("plan", "dev/c"), ("plan", "dev/d")]  # plan mode: nothing applied
    run = open_ledger(load_settings()).list_runs(1)[0]
    assert (run.mode, run.trigger, run.started_by, run.repo) == ("plan", "retry", "ui-user", str(repo))


def test_retry_is_refused_when_head_moved_or_a_later_commit_was_applied(
    scripted_deploy, script, tmp_path, capsys
):
    repo = write_repo(tmp_path / "repo", EDGES)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "one")
    old = _git(repo, "rev-parse", "HEAD")
    script(fail=["dev/b"])
    assert _cli(capsys, "deploy", "--repo", str(repo), "--all")[0] == 1
    first = _latest_run_id()
    assert open_ledger(load_settings()).get_run(first).commit == old

    (repo / "README").write_text("new commit\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "two")
    new = _git(repo, "rev-parse", "HEAD")
    code, _, err = _cli(capsys, "retry", str(first))
    assert code == 2
    assert f"is at commit {new[:12]} but run {first} ran on {old[:12]}" in err
    assert len(err.strip().splitlines()) == 1

    script()
    assert _cli(capsys, "deploy", "--repo", str(repo), "--stack", "dev/b")[0] == 0
    second = _latest_run_id()
    _git(repo, "checkout", "-q", old)
    code, _, err = _cli(capsys, "retry", str(first))
    assert code == 2
    assert (f"retry of run {first} refused: superseded: dev/b was applied from commit {new[:12]} "
            f"by later run {second}") in err


def test_retry_needs_an_ended_run_with_something_left_to_do(scripted_deploy, script, tmp_path, capsys):
    repo = write_repo(tmp_path / "repo", {"b": ["a"]})
    script()
    scripted_deploy.deploy(repo=str(repo), all_instances=True)
    code, _, err = _cli(capsys, "retry", str(_latest_run_id()))
    assert code == 2 and "nothing to retry (2 succeeded)" in err

    from stackflow.flows.recorder import RunInfo

    ledger = open_ledger(load_settings())
    running = ledger.start_run(RunInfo("live", "live", str(repo), "", "apply"), 60)
    with pytest.raises(Exception, match="still running"):
        prepare_retry(ledger, str(running), load_settings())
    code, _, err = _cli(capsys, "retry", "no-such-run")
    assert code == 2 and "no run with that id" in err


def test_include_rejected_adds_instances_rejected_at_a_gate(script, tmp_path):
    repo = write_repo(tmp_path / "repo", EDGES)
    from stackflow.flows.recorder import RunInfo

    ledger = open_ledger(load_settings())
    names = ["dev/a", "dev/b", "dev/c", "dev/d", "dev/x", "dev/y"]
    run = ledger.start_run(RunInfo("gated", "gated", str(repo), "", "apply", selection=names), 60)
    for o in [StackOutcome("dev", "a", "succeeded"), StackOutcome("dev", "x", "succeeded"),
              StackOutcome("dev", "b", "skipped", "approval gate"),
              StackOutcome("dev", "c", "skipped", "ancestor not applied", "dev/b"),
              StackOutcome("dev", "d", "skipped", "ancestor not applied", "dev/b"),
              StackOutcome("dev", "y", "failed", "run error", "boom")]:
        ledger.record_outcome(run, o)
    ledger.record_approval("dev/b", "rejected", by="bob", reason="not today", run=run)
    ledger.finish_run(run, "failed")
    settings = load_settings()
    plain = prepare_retry(ledger, str(run), settings)
    assert {str(r) for r in plain.target.graph.nodes} == {"dev/y"}
    gated = prepare_retry(ledger, str(run), settings, include_rejected=True)
    assert {str(r) for r in gated.target.graph.nodes} == {"dev/b", "dev/c", "dev/d", "dev/y"}


def test_tags_and_labels_narrow_a_run_through_the_flow(scripted_deploy, script, tmp_path, capsys):
    import yaml

    repo = write_repo(tmp_path / "repo", EDGES)
    manifest = repo / "stacks" / "dev.yaml"
    data = yaml.safe_load(manifest.read_text())
    for name, meta in {"a": {"tags": ["core"]}, "b": {"tags": ["web"], "labels": {"tier": "2"}},
                       "c": {"tags": ["web"]}}.items():
        data["components"]["terraform"][name]["metadata"] = meta
    manifest.write_text(yaml.safe_dump(data))
    script()
    code, out, err = _cli(capsys, "deploy", "--repo", str(repo), "--all", "--tags", "web,core",
                          "--labels", "tier=2", "--format", "json")
    assert code == 0, err
    assert [(o["stack"], o["component"], o["status"]) for o in json.loads(out)] == [("dev", "b", "succeeded")]
    # the ledger records what the run covered
    code, out, _ = _cli(capsys, "runs", "list", "--format", "json")
    assert json.loads(out)[0]["results"] == {"succeeded": 1}
    code, out, err = _cli(capsys, "deploy", "--repo", str(repo), "--stack", "dev/x", "--tags", "web")
    assert code == 2 and out == "" and err.strip().endswith(
        "--tags web: none of the 1 selected instance(s) matches (tags: any of them in metadata.tags; labels: every "
        "one in metadata.labels)")
