"""Shared fixtures: a Prefect API for in-process flow runs, and the terraform test bed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_fixture import sandbox  # noqa: F401  (re-exported fixture)

FIXTURE_REPOS = Path(__file__).parent / "fixtures" / "repos"


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's test harness: a throwaway server for flows run in this process."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def sandbox_env(sandbox, monkeypatch, tmp_path) -> dict[str, str]:  # noqa: F811
    """The test bed's environment applied to this process, and a private stackflow home."""
    import os

    env = sandbox.env(os.environ)
    env["STACKFLOW_HOME"] = str(tmp_path / "stackflow-home")
    env["STACKFLOW_RETRY_DELAY_S"] = "0.5"
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fixture_repo(tmp_path) -> "callable":
    """Copy a repo from tests/fixtures/repos into tmp_path: `fixture_repo("tiny")`."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(FIXTURE_REPOS / name, dest, symlinks=True)
        return dest

    return copy
