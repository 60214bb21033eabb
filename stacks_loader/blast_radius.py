"""The blast radius of a change: what it touches, in the order a deploy would run it."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .affected import AffectedSet
from .approvals import needs_approval
from .model import InstanceRef
from .graph import DependencyGraph
from .stages import stage_edges


@dataclass
class BlastRadius:
    levels: list[list[InstanceRef]]  # parallel groups, in run order
    critical_path: list[InstanceRef]  # the longest chain of instances that must run one after another
    approval: list[InstanceRef]  # instances whose apply waits at a gate
    aset: AffectedSet


def blast_radius(aset: AffectedSet) -> BlastRadius:
    """The run graph of the change. `aset.head` may hold only the stacks the change reaches
    (a scoped comparison), so the graph is built from the selected instances' own edges."""
    selected = aset.selection()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(sorted(selected))
    for ref in selected:
        for dep in aset.head.instances[ref].dependencies:
            if dep.parent in selected:
                digraph.add_edge(dep.parent, ref)
    graph = DependencyGraph(digraph)
    graph.add_edges(stage_edges(aset.head.instances, selected), why="settings.stackflow.stages")
    approval = [ref for ref in graph.nodes if needs_approval(aset.head.instances[ref])]
    return BlastRadius(graph.levels(), critical_path(graph), approval, aset)


def critical_path(graph: DependencyGraph) -> list[InstanceRef]:
    """The longest parent → child chain (in instances); ties go to the smallest names."""
    best: dict[InstanceRef, tuple[int, InstanceRef | None]] = {}
    for ref in graph.order():
        parents = graph.parents(ref)
        if parents:
            parent = min(parents, key=lambda p: (-best[p][0], p))
            best[ref] = (best[parent][0] + 1, parent)
        else:
            best[ref] = (1, None)
    if not best:
        return []
    node: InstanceRef | None = min(best, key=lambda r: (-best[r][0], r))
    path = []
    while node is not None:
        path.append(node)
        node = best[node][1]
    return path[::-1]


def blast_radius_text(aset: AffectedSet, *, base_label: str = "base", head_label: str = "head") -> str:
    radius = blast_radius(aset)
    lines = [f"change {base_label}..{head_label}: {len(aset.changed)} file(s) changed"]
    lines += [f"  {path}" for path in aset.changed[:20]]
    if len(aset.changed) > 20:
        lines.append(f"  … and {len(aset.changed) - 20} more")
    dependents = len(aset.dependents) if aset.include_dependents else 0
    total = sum(len(level) for level in radius.levels)
    lines.append("")
    lines.append(f"{total} instance(s) to run: {len(aset.affected)} affected, {dependents} dependent(s); "
                 f"{len(aset.deleted)} deleted")
    gated = set(radius.approval)
    for number, level in enumerate(radius.levels, 1):
        lines.append(f"group {number} (in parallel):")
        for ref in level:
            found = aset.affected.get(ref)
            why = f"[{', '.join(found.reasons)}]" if found else "[dependent]"
            lines.append(f"  {ref}  {why}" + ("  needs approval" if ref in gated else ""))
    if radius.critical_path:
        lines.append(f"critical path ({len(radius.critical_path)}): "
                     + " → ".join(str(ref) for ref in radius.critical_path))
    lines.append("needs approval: " + (", ".join(str(r) for r in radius.approval) or "none"))
    if aset.deleted:
        lines.append("deleted in head (a deploy does not destroy them: run --mode destroy on the base commit):")
        lines += [f"  {ref}  [{aset.deleted[ref].reason}]" for ref in sorted(aset.deleted)]
    if not total and not aset.deleted:
        lines.append("nothing is affected")
    return "\n".join(lines)
