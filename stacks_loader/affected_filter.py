"""`describe affected --stack S` and `--exclude-locked`, as Atmos filters its affected list.

Atmos (`findAffectedParallel`, `shouldSkipComponent`, `detectDeletedComponents`) looks only at the
stack asked for, affected and deleted alike, and leaves out `metadata.locked: true` instances
when asked; the dependents of what is kept are still found in every stack.
"""

from __future__ import annotations

from dataclasses import replace

from stackflow.errors import ConfigError

from .affected import AffectedSet


def filter_affected(aset: AffectedSet, *, stack: str | None = None, exclude_locked: bool = False) -> AffectedSet:
    """`aset` narrowed to one stack and/or without locked instances; dependents recomputed."""
    if stack is None and not exclude_locked:
        return aset
    if stack is not None:
        known = aset.head.stack_names()
        if aset.base is not None:
            known |= aset.base.stack_names()
        if stack not in known:
            raise ConfigError(f"--stack {stack!r}: no such stack in either commit")
    affected = {
        ref: found for ref, found in aset.affected.items()
        if (stack is None or ref.stack == stack) and not (exclude_locked and aset.head.instances[ref].locked)
    }
    deleted = {ref: found for ref, found in aset.deleted.items() if stack is None or ref.stack == stack}
    dependents: set = set()
    if aset.include_dependents and affected:
        graph = aset.head.graph()
        for ref in affected:
            dependents |= graph.descendants(ref)
        dependents -= set(affected)
    return replace(aset, affected=affected, deleted=deleted, dependents=dependents)
