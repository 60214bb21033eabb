"""Which instance may start next: the run queue behind the deploy flow, without Prefect.

An instance becomes ready the moment all its parents succeeded (eager, never in waves); among
ready instances the one with the longest remaining critical path goes first. A failure marks every
pending descendant skipped (naming the failed ancestor) and leaves unrelated branches alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

import networkx as nx

from .graph import DependencyGraph
from .model import InstanceRef

PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED = "pending", "running", "succeeded", "failed", "skipped"
# started, but waiting on a person (an approval gate): does not hold a parallelism slot
WAITING = "waiting"


def remaining_critical_path(
    graph: DependencyGraph, durations: Mapping[InstanceRef, float] | None = None
) -> dict[InstanceRef, float]:
    """For each instance, its own duration plus the longest chain of descendants after it."""
    durations = durations or {}
    g = graph.digraph
    remaining: dict[InstanceRef, float] = {}
    for ref in reversed(list(nx.topological_sort(g))):
        tail = max((remaining[c] for c in g.successors(ref)), default=0.0)
        remaining[ref] = durations.get(ref, 1.0) + tail
    return remaining


class DeployQueue:
    """Tracks each instance's state and hands out ready ones by critical-path priority."""

    def __init__(
        self, graph: DependencyGraph, durations: Mapping[InstanceRef, float] | None = None
    ) -> None:
        self.graph = graph
        self.priority = remaining_critical_path(graph, durations)
        self.state: dict[InstanceRef, str] = {ref: PENDING for ref in graph.digraph}
        self.skipped_because: dict[InstanceRef, InstanceRef] = {}
        self._counts = {PENDING: len(self.state), RUNNING: 0, WAITING: 0}
        self._waiting = {ref: graph.digraph.in_degree(ref) for ref in graph.digraph}
        self._ready: list[tuple[float, InstanceRef]] = []
        for ref, count in self._waiting.items():
            if count == 0:
                heapq.heappush(self._ready, (-self.priority[ref], ref))

    def pop_ready(self, limit: int) -> list[InstanceRef]:
        """Up to `limit` ready instances, longest critical path first; they become running."""
        taken: list[InstanceRef] = []
        while self._ready and len(taken) < limit:
            _, ref = heapq.heappop(self._ready)
            if self.state[ref] != PENDING:
                continue
            self._set(ref, RUNNING)
            taken.append(ref)
        return taken

    def _set(self, ref: InstanceRef, new: str) -> None:
        old = self.state[ref]
        if old in self._counts:
            self._counts[old] -= 1
        if new in self._counts:
            self._counts[new] += 1
        self.state[ref] = new

    def park(self, ref: InstanceRef) -> None:
        """A running instance now waits for a person; its slot goes to the next ready one."""
        self._set(ref, WAITING)

    def unpark(self, ref: InstanceRef) -> None:
        """The person answered: the instance runs again (its apply may exceed the cap by one)."""
        self._set(ref, RUNNING)

    def succeed(self, ref: InstanceRef) -> None:
        self._set(ref, SUCCEEDED)
        for child in self.graph.digraph.successors(ref):
            self._waiting[child] -= 1
            if self._waiting[child] == 0 and self.state[child] == PENDING:
                heapq.heappush(self._ready, (-self.priority[child], child))

    def fail(self, ref: InstanceRef) -> list[InstanceRef]:
        """Mark `ref` failed and its pending descendants skipped; returns those skipped."""
        self._set(ref, FAILED)
        return self._skip_descendants(ref)

    def skip(self, ref: InstanceRef, because: InstanceRef | None = None) -> list[InstanceRef]:
        """Skip a running/pending instance (e.g. rejected at a gate) and its descendants."""
        self._set(ref, SKIPPED)
        if because is not None:
            self.skipped_because[ref] = because
        return self._skip_descendants(ref)

    def _skip_descendants(self, ref: InstanceRef) -> list[InstanceRef]:
        skipped = []
        for d in sorted(self.graph.descendants(ref)):
            if self.state[d] == PENDING:
                self._set(d, SKIPPED)
                self.skipped_because[d] = ref
                skipped.append(d)
        return skipped

    def halt(self, because: InstanceRef) -> list[InstanceRef]:
        """Fail-fast: nothing new starts; every pending instance is skipped."""
        skipped = []
        for ref, st in sorted(self.state.items()):
            if st == PENDING:
                self._set(ref, SKIPPED)
                self.skipped_because[ref] = because
                skipped.append(ref)
        return skipped

    @property
    def running(self) -> int:
        return self._counts[RUNNING]

    @property
    def finished(self) -> bool:
        return not (self._counts[PENDING] or self._counts[RUNNING] or self._counts[WAITING])

    @property
    def waiting(self) -> int:
        return self._counts[WAITING]
