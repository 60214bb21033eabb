"""The dependency graph of stack instances: parent → child, validated before anything runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from stackflow.errors import ConfigError, CycleError

from .model import InstanceRef, StackInstance


class DependencyGraph:
    """A DAG of instances (nodes are `InstanceRef`, edges go parent → child)."""

    def __init__(self, digraph: nx.DiGraph) -> None:
        self.digraph = digraph

    @classmethod
    def from_instances(cls, instances: Mapping[InstanceRef, StackInstance]) -> "DependencyGraph":
        """Build and validate the graph; unknown parents and cycles are `ConfigError`s."""
        g = nx.DiGraph()
        for ref in instances:
            g.add_node(ref)
        for ref, inst in instances.items():
            for dep in inst.dependencies:
                if dep.parent not in instances:
                    raise ConfigError(
                        f"{inst.stack_file}: stack {inst.stack!r} component {inst.component!r} "
                        f"depends on unknown instance {dep.parent} ({dep.via})"
                    )
                g.add_edge(dep.parent, ref)
        graph = cls(g)
        graph.check_acyclic()
        return graph

    def check_acyclic(self) -> None:
        if _is_acyclic(self.digraph):  # fast path; find_cycle only to explain
            return
        try:
            cycle = nx.find_cycle(self.digraph)
        except nx.NetworkXNoCycle:
            return
        raise CycleError([str(edge[0]) for edge in cycle])

    def __contains__(self, ref: object) -> bool:
        return ref in self.digraph

    def __len__(self) -> int:
        return self.digraph.number_of_nodes()

    @property
    def nodes(self) -> list[InstanceRef]:
        return sorted(self.digraph.nodes)

    def parents(self, ref: InstanceRef) -> list[InstanceRef]:
        return sorted(self.digraph.predecessors(ref))

    def children(self, ref: InstanceRef) -> list[InstanceRef]:
        return sorted(self.digraph.successors(ref))

    def ancestors(self, ref: InstanceRef) -> set[InstanceRef]:
        return nx.ancestors(self.digraph, ref)

    def descendants(self, ref: InstanceRef) -> set[InstanceRef]:
        return nx.descendants(self.digraph, ref)

    def order(self) -> list[InstanceRef]:
        """Parents before children; ties broken by name so the order is stable."""
        return list(nx.lexicographical_topological_sort(self.digraph))

    def levels(self) -> list[list[InstanceRef]]:
        """Groups that could run in parallel, level by level (for display and baselines)."""
        return [sorted(gen) for gen in nx.topological_generations(self.digraph)]

    def subgraph(self, refs: Iterable[InstanceRef]) -> "DependencyGraph":
        """The graph restricted to `refs`; an edge is kept only between two kept nodes."""
        return DependencyGraph(self.digraph.subgraph(set(refs)).copy())

    def with_dependents(self, refs: Iterable[InstanceRef]) -> set[InstanceRef]:
        """`refs` and every instance that transitively depends on one of them."""
        result: set[InstanceRef] = set()
        for ref in refs:
            result.add(ref)
            result |= nx.descendants(self.digraph, ref)
        return result

    def add_edges(self, edges: Iterable[tuple[InstanceRef, InstanceRef]], *, why: str) -> None:
        """Add ordering edges (e.g. stage promotion); a resulting cycle is a CycleError."""
        for parent, child in edges:
            self.digraph.add_edge(parent, child, why=why)
        self.check_acyclic()

    def reversed(self) -> "DependencyGraph":
        """Children before parents (destroy order)."""
        return DependencyGraph(self.digraph.reverse(copy=True))


def _is_acyclic(digraph: nx.DiGraph) -> bool:
    """Kahn's algorithm over the adjacency dicts.

    (`nx.is_directed_acyclic_graph` caches an in-degree view on the graph that refers back to
    it: a reference cycle that keeps a freshly loaded graph alive until a full GC pass.)
    """
    successors = dict(digraph.adjacency())
    indegree = dict.fromkeys(successors, 0)
    for children in successors.values():
        for child in children:
            indegree[child] += 1
    ready = [node for node, count in indegree.items() if not count]
    done = 0
    while ready:
        done += 1
        for child in successors[ready.pop()]:
            indegree[child] -= 1
            if not indegree[child]:
                ready.append(child)
    return done == len(indegree)
