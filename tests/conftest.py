"""Shared fixtures: Prefect's test harness for flow tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness(request):
    """A throwaway Prefect API for tests that run flows in-process (started only when needed)."""
    needs_prefect = any(
        "flows" in str(item.fspath) or item.get_closest_marker("prefect") for item in request.session.items
    )
    if not needs_prefect:
        yield
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
