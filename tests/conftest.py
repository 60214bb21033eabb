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
    """The test bed's environment applied to this process, a private stackflow home, and a
    state bucket of this test's own, so no test sees state another test left behind."""
    import os
    import uuid

    env = sandbox.env(os.environ)
    bucket = f"tfstate-{uuid.uuid4().hex[:12]}"
    sandbox.s3_client().create_bucket(Bucket=bucket)
    env["TF_STATE_BUCKET"] = bucket
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
