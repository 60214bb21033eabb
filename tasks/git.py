"""The thin git adapter: the only place that runs git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from stackflow.errors import GitError


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to read refs)") from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise GitError(f"{repo}: git {' '.join(args)}: {detail}")
    return proc.stdout


def head_commit(repo: Path) -> str:
    """The commit checked out in `repo`, or "" when it is not inside a git repository."""
    try:
        return _git(repo, "rev-parse", "HEAD").strip()
    except GitError:
        return ""


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool | None:
    """Whether `ancestor` is `descendant` or one of its ancestors; None when git cannot tell
    (a commit missing from `repo`, e.g. a newer one not fetched yet, or not a repository)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor, descendant],
            capture_output=True, text=True, timeout=60,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to compare commits)") from None
    if proc.returncode in (0, 1):
        return proc.returncode == 0
    return None
