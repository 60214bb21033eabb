"""The session fixture `sandbox`: one terraform + moto sandbox per pytest(-xdist) worker.

Each worker gets its own moto port and its own terraform plugin cache (the cache is not safe for
concurrent writers); bin/ and the provider mirror are shared by all workers of a run, under a file
lock. Import it into a conftest: `from tests.sandbox_fixture import sandbox`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testbed.sandbox import Sandbox, down, up


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A running sandbox for this worker, stopped at the end of the session."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    root = tmp_path_factory.getbasetemp()
    if worker:  # each worker's basetemp is a child of the run's, which all workers share
        root = root.parent
    running = up(root / f"sandbox-{worker or 'main'}", shared_dir=root / "sandbox-tools")
    try:
        yield running
    finally:
        down(running.dir)
