"""The benchmark scripts, imported by the tests that check them (they are not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def loader_bench() -> ModuleType:
    """benchmarks/loader_bench.py as a module: its repo generator and its (b0) builders."""
    spec = importlib.util.spec_from_file_location("loader_bench", BENCHMARKS / "loader_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
