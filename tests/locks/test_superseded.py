"""Newer commit wins: an older commit is never applied over a newer one."""

from __future__ import annotations

import subprocess
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from stackflow.errors import LockError
from stackflow.settings import load_settings
from stackflow.tasks.locks import AppliedRecord, StackLocks, check_not_superseded
from tests.locks.instances import s3_instance


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


@pytest.fixture
def history(tmp_path) -> tuple[Path, str, str, str]:
    """A repo with commits A → B on main, and C → branched from A."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = []
    for name in ("a", "b"):
        (repo / name).write_text(name)
        _git(repo, "add", name)
        _git(repo, "commit", "-q", "-m", name)
        shas.append(_git(repo, "rev-parse", "HEAD"))
    _git(repo, "checkout", "-q", "-b", "side", shas[0])
    (repo / "c").write_text("c")
    _git(repo, "add", "c")
    _git(repo, "commit", "-q", "-m", "c")
    return repo, shas[0], shas[1], _git(repo, "rev-parse", "HEAD")


def _applied(commit: str) -> AppliedRecord:
    return AppliedRecord(commit=commit, run_id="run-b", at=datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_an_older_commit_is_refused_after_a_newer_one_was_applied(history):
    repo, a, b, c = history
    with pytest.raises(LockError) as caught:
        check_not_superseded(repo, "plat-ue1-dev/vpc", a, _applied(b))
    assert str(caught.value) == (
        f"plat-ue1-dev/vpc: commit {a[:12]} is superseded by {b[:12]} (applied by run run-b at "
        "2026-01-02 00:00:00 UTC); refusing to apply an older commit")


def test_the_same_a_newer_or_an_unrelated_commit_may_apply(history):
    repo, a, b, c = history
    check_not_superseded(repo, "i", b, _applied(b))
    check_not_superseded(repo, "i", b, _applied(a))
    check_not_superseded(repo, "i", c, _applied(b))
    check_not_superseded(repo, "i", a, None)


def test_a_last_commit_git_cannot_compare_fails_closed(history):
    repo, a, _, _ = history
    with pytest.raises(LockError, match=r"cannot tell whether commit \w{12} is older than "
                       r"deadbeefdead .*fetch deadbeefdead and retry"):
        check_not_superseded(repo, "i", a, _applied("deadbeef" * 5))


@pytest.mark.prefect_server
def test_the_applied_commit_is_kept_on_the_server_for_every_worker(history, prefect_env):
    repo, a, b, _ = history
    instance = s3_instance(f"applied-{uuid.uuid4().hex[:8]}")
    locks = StackLocks(load_settings())
    assert locks.last_applied(instance) is None
    locks.record_applied(instance, b, "run-b")
    last = locks.last_applied(instance)
    assert (last.commit, last.run_id, last.instance) == (b, "run-b", "plat-ue1-dev/vpc")
    with pytest.raises(LockError, match=f"superseded by {b[:12]}"):
        check_not_superseded(repo, str(instance), a, last)
