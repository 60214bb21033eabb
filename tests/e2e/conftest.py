"""A real Prefect server per e2e test, started by the test itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .prefect_services import PrefectServer


@pytest.fixture
def prefect_server(tmp_path) -> Iterator[PrefectServer]:
    server = PrefectServer(tmp_path / "prefect").start()
    yield server
    server.stop()
