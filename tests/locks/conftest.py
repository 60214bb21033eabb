"""One real Prefect server for the lock tests, started with an API auth string.

Every server test's client sends PREFECT_API_AUTH_STRING, so each of them also proves that locks
work against a server that requires it. The server's lease reaper runs every 5 s (default 15 s)
so that "free within the lease" is measured with a small margin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

AUTH_STRING = "stackflow:locks-test-secret"


@pytest.fixture(scope="session")
def lock_server(tmp_path_factory) -> Iterator["PrefectServer"]:  # noqa: F821
    from tests.e2e.prefect_services import PrefectServer

    server = PrefectServer(home=tmp_path_factory.mktemp("prefect-locks"), server_env={
        "PREFECT_SERVER_API_AUTH_STRING": AUTH_STRING,
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "5"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefect_env(lock_server, monkeypatch, tmp_path) -> Iterator[dict[str, str]]:
    """This process's Prefect client points at the test server, with the auth string; the
    returned environment does the same for child processes."""
    from prefect.settings import (
        PREFECT_API_AUTH_STRING,
        PREFECT_API_URL,
        temporary_settings,
    )

    home = tmp_path / "stackflow-home"
    monkeypatch.setenv("STACKFLOW_HOME", str(home))
    env = lock_server.env()
    env.update(PREFECT_API_AUTH_STRING=AUTH_STRING, STACKFLOW_HOME=str(home),
               PYTHONPATH=str(Path(__file__).parents[2]))
    with temporary_settings({PREFECT_API_URL: lock_server.api_url,
                             PREFECT_API_AUTH_STRING: AUTH_STRING}):
        yield env
