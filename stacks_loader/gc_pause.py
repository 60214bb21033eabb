"""The cyclic garbage collector paused while the loader builds large, long-lived structures.

Resolving a big repo (and building its graph) allocates hundreds of thousands of containers and
frees almost none: each collection the allocations trigger rescans all of them and finds
nothing to collect.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC for the block; re-enable it after only if it was enabled before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
