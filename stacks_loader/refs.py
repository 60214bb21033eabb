"""One `InstanceRef` object per (stack, component) within a load.

Instances, dependency parents and graph nodes then share the same object: dict lookups and
graph edges match by identity instead of calling the dataclass `__eq__`, and each ref's hash
is computed once.
"""

from __future__ import annotations

from .model import InstanceRef


class InstanceRefs:
    """Hands out the one `InstanceRef` for each (stack, component) asked for."""

    def __init__(self) -> None:
        self._refs: dict[tuple[str, str], InstanceRef] = {}

    def get(self, stack: str, component: str) -> InstanceRef:
        key = (stack, component)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = InstanceRef(stack, component)
        return ref
