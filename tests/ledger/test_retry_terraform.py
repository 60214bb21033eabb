"""`stackflow retry` on the real test bed: real terraform, real moto, a real Prefect engine.

The tiny repo's `retry` stack: queue → vpc (fails: bad CIDR) → subnet (skipped), queue → topic.
After the fault is fixed, the retry plans and applies exactly vpc and subnet, once each.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from stackflow.cli import main
from stackflow.settings import load_settings
from stackflow.tasks.ledger.recorder import open_ledger

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.usefixtures("prefect_api"),
    pytest.mark.xdist_group("terraform-tiny"),
]

RETRIED = {"retry/vpc", "retry/subnet"}
UNTOUCHED = {"retry/queue", "retry/topic"}


@pytest.fixture
def fresh_state(sandbox, sandbox_env, ledger_env, monkeypatch) -> str:
    """A state bucket of this test's own, so every instance starts never applied."""
    bucket = f"tiny-retry-{uuid.uuid4().hex[:10]}"
    sandbox.client("s3").create_bucket(Bucket=bucket)
    monkeypatch.setenv("TF_STATE_BUCKET", bucket)
    monkeypatch.delenv("TINY_RETRY_CIDR", raising=False)
    return bucket


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _status(out: str) -> dict[str, str]:
    return {f"{o['stack']}/{o['component']}": o["status"] for o in json.loads(out)}


def _fail_then_retry(repo: Path, capsys, fix) -> tuple[int, int]:
    code, out, err = _cli(capsys, "deploy", "--repo", str(repo), "--stack", "retry", "--format", "json")
    assert code == 1, err
    assert _status(out) == {"retry/queue": "succeeded", "retry/topic": "succeeded",
                            "retry/vpc": "failed", "retry/subnet": "skipped"}
    first = open_ledger(load_settings()).list_runs(1)[0].id
    assert first is not None

    fix()
    code, out, err = _cli(capsys, "retry", str(first), "--format", "json")
    assert code == 0, err
    assert _status(out) == {"retry/vpc": "succeeded", "retry/subnet": "succeeded"}
    second = open_ledger(load_settings()).list_runs(1)[0].id
    assert second is not None
    return first, second


def _assert_each_applied_once(first: int, second: int, sandbox, bucket: str) -> None:
    ledger = open_ledger(load_settings())
    retry = ledger.get_run(second)
    assert (retry.trigger, retry.retry_of, retry.commit) == ("retry", first, ledger.get_run(first).commit)
    steps = {run: [(s.instance, s.step) for s in ledger.steps(run)] for run in (first, second)}
    assert {i for i, _ in steps[second]} == RETRIED  # queue and topic untouched by the retry
    applies = [i for run in (first, second) for i, step in steps[run] if step == "apply"]
    assert sorted(applies) == sorted(RETRIED | UNTOUCHED)  # every instance applied exactly once
    keys = [o["Key"] for o in sandbox.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert sorted(keys) == [f"{c}/retry/terraform.tfstate" for c in ("queue", "subnet", "topic", "vpc")]
    vpcs = sandbox.client("ec2").describe_vpcs(
        Filters=[{"Name": "tag:Name", "Values": ["tiny-retry"]}])["Vpcs"]
    assert "10.0.0.0/16" in {v["CidrBlock"] for v in vpcs}


def test_retry_after_the_fault_is_fixed_applies_only_what_failed_or_was_skipped_once(
    sandbox, fresh_state, fixture_repo, capsys
):
    repo = fixture_repo("tiny")  # a plain folder: no commit, identified by its path
    stack_file = repo / "stacks" / "retry.yaml"

    def fix() -> None:
        stack_file.write_text(stack_file.read_text().replace("10.0.0.0/33", "10.0.0.0/16"))

    first, second = _fail_then_retry(repo, capsys, fix)
    _assert_each_applied_once(first, second, sandbox, fresh_state)
    assert open_ledger(load_settings()).get_run(second).commit == ""


def test_retry_of_a_git_repo_runs_on_the_same_commit_and_refuses_a_moved_head(
    sandbox, fresh_state, fixture_repo, capsys, monkeypatch
):
    repo = fixture_repo("tiny")

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                               *args], check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "tiny")
    commit = git("rev-parse", "HEAD")

    first, second = _fail_then_retry(
        repo, capsys, lambda: monkeypatch.setenv("TINY_RETRY_CIDR", "10.0.0.0/16"))
    _assert_each_applied_once(first, second, sandbox, fresh_state)
    assert open_ledger(load_settings()).get_run(second).commit == commit

    (repo / "NOTES").write_text("a later commit\n")
    git("add", "-A")
    git("commit", "-qm", "later")
    code, _, err = _cli(capsys, "retry", str(first))
    assert code == 2
    assert f"but run {first} ran on {commit[:12]}" in err and "Traceback" not in err
