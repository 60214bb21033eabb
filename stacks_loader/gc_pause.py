"""The cyclic garbage collector paused while the loader builds large, long-lived structures.

Resolving a big repo (and building its graph) allocates hundreds of thousands of containers and
frees almost none. With the collector running, each young-generation pass the allocations
trigger walks all of them again and finds nothing to collect; even after a pause, the first
allocation would start one pass over everything built during it (~0.1 s for a 10k-instance repo),
and a second one a little later. The loader's own structures hold no reference cycles, so
refcounting alone frees them whenever the caller drops them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC for the block; what the block built then counts as old.

    On success, the objects allocated meanwhile move to the oldest generation without being
    walked (`gc.freeze()` then `gc.unfreeze()`: two list splices). Skipped when the caller had
    paused the GC itself (its own exit decides) or froze objects (unfreezing would undo that).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was_enabled:
            gc.enable()
        raise
    if was_enabled:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
