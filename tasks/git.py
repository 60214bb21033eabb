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
