"""Two-commit git repos written for a test: base files, then the change."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

from tests.loader.repos import ATMOS_YAML, write_repo

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
       "PATH": "/usr/bin:/bin:/usr/local/bin"}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=ENV).stdout


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def two_commits(root: Path, files: Mapping[str, str], change: Mapping[str, str | None],
                *, atmos: str | None = ATMOS_YAML) -> Path:
    """A repo whose HEAD~1 holds `files` and HEAD applies `change` (text, or None to delete)."""
    write_repo(root, files, atmos=atmos)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    for rel, text in change.items():
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
    commit_all(root, "change")
    return root


TF = 'variable "x" {\n  default = 1\n}\n'
