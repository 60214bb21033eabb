"""Human-readable run reports: the markdown summary artifact and a text table for the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from .graph import DependencyGraph
from .outcome import StackOutcome

_STATUS_STYLE = {
    "succeeded": "fill:#d4f7d4,stroke:#2e7d32",
    "no changes": "fill:#eeeeee,stroke:#757575",
    "failed": "fill:#ffd6d6,stroke:#c62828",
    "skipped": "fill:#fff3cd,stroke:#b8860b",
    "excluded": "fill:#ffffff,stroke:#bdbdbd",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcomes_table(outcomes: Sequence[StackOutcome]) -> str:
    """A markdown table: instance, status, add/change/destroy, duration, reason."""
    rows = [
        "| instance | status | add | change | destroy | duration | reason |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        reason = o.reason + (f": {o.cause}" if o.cause else "")
        status = o.status + (" (provisional)" if o.provisional else "")
        rows.append(
            f"| `{o.instance}` | {status} | {o.add} | {o.change} | {o.destroy} "
            f"| {o.duration_s:.1f}s | {_cell(reason)} |"
        )
    return "\n".join(rows)


def mermaid(graph: DependencyGraph, outcomes: Sequence[StackOutcome] = ()) -> str:
    """The dependency graph as a Mermaid flowchart, nodes coloured by status when known."""
    ids = {ref: f"n{i}" for i, ref in enumerate(graph.order())}
    lines = ["flowchart LR"]
    for ref, node in ids.items():
        lines.append(f'  {node}["{ref}"]')
    for parent, child in sorted(graph.digraph.edges):
        lines.append(f"  {ids[parent]} --> {ids[child]}")
    by_name = {o.instance: o.status for o in outcomes}
    for ref, node in ids.items():
        style = _STATUS_STYLE.get(by_name.get(str(ref), ""))
        if style:
            lines.append(f"  style {node} {style}")
    return "\n".join(lines)


def summary_markdown(outcomes: Sequence[StackOutcome], graph: DependencyGraph, *, mode: str) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    headline = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return (
        f"# stackflow {mode}: {headline or 'nothing selected'}\n\n"
        f"{outcomes_table(outcomes)}\n\n## Dependency graph\n\n```mermaid\n{mermaid(graph, outcomes)}\n```\n"
    )


def outcomes_text(outcomes: Sequence[StackOutcome]) -> str:
    """A plain table for terminals."""
    header = ("INSTANCE", "STATUS", "ADD", "CHG", "DEL", "TIME", "REASON")
    rows = [header] + [
        (
            o.instance,
            o.status + ("*" if o.provisional else ""),
            str(o.add), str(o.change), str(o.destroy),
            f"{o.duration_s:.1f}s",
            o.reason + (f": {o.cause}" if o.cause else ""),
        )
        for o in outcomes
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1]
        for row in rows
    )
