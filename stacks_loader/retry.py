"""Which instances a retry runs: what a previous run left undone, and nothing it finished.

Pure: the previous run's instances and outcomes plus the repo's current graph in, a selection out.
An instance is retried when it failed, when it was skipped because of a failure (its ancestor
failed, or fail-fast stopped it), when the run ended before it did (a crash), and, if asked,
when it or its ancestor was rejected at an approval gate. Succeeded instances are left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .graph import DependencyGraph
from .model import InstanceRef
from .outcome import StackOutcome

FAILURE_SKIPS = ("ancestor failed", "fail-fast")
CASCADED_SKIP = "ancestor not applied"
DONE = ("succeeded", "no changes")


def is_rejected(outcome: StackOutcome) -> bool:
    """Skipped because someone rejected it at a gate (the gate's outcome reason says so)."""
    return outcome.status == "skipped" and outcome.reason.lower().startswith("rejected")


@dataclass(frozen=True)
class RetrySelection:
    """What a retry runs, and what it leaves alone (with why, for the report)."""

    run: frozenset[InstanceRef]
    untouched: frozenset[InstanceRef] = frozenset()
    left_out: Mapping[str, str] = field(default_factory=dict)  # instance → why not retried

    def __bool__(self) -> bool:
        return bool(self.run)


def _undone_because(
    name: str, outcomes: Mapping[str, StackOutcome], rejected: Collection[str]
) -> str | None:
    """Why `name` is not done: "failed", "rejected", "unfinished", another reason, or None."""
    seen: set[str] = set()
    while name not in seen:
        seen.add(name)
        outcome = outcomes.get(name)
        if outcome is None:
            return "unfinished"
        if outcome.status in DONE:
            return None
        if outcome.status == "failed":
            return "failed"
        if outcome.status != "skipped":
            return outcome.reason or outcome.status  # excluded
        if name in rejected or is_rejected(outcome):
            return "rejected"
        if outcome.reason in FAILURE_SKIPS:
            return "failed"
        if outcome.reason == CASCADED_SKIP and outcome.cause:
            name = outcome.cause  # skipped because its ancestor was skipped: ask why that one was
            continue
        return outcome.reason or "skipped"
    return "skipped"


def select_retry(
    previous: Iterable[str],
    outcomes: Mapping[str, StackOutcome],
    graph: DependencyGraph,
    *,
    include_rejected: bool = False,
    rejected: Collection[str] = (),
) -> RetrySelection:
    """The instances of `previous` (names, a run's selection) a retry should plan and apply.

    `outcomes` are the previous run's, by instance name; `graph` is the repo's current graph
    (every deployable instance); `rejected` names instances a gate rejected in that run.
    """
    names = list(dict.fromkeys([*previous, *outcomes]))
    current = {str(ref): ref for ref in graph.nodes}
    run: set[InstanceRef] = set()
    untouched: set[InstanceRef] = set()
    left_out: dict[str, str] = {}
    for name in names:
        why = _undone_because(name, outcomes, rejected)
        if why is None:
            if name in current:
                untouched.add(current[name])
            continue
        if why == "rejected" and not include_rejected:
            left_out[name] = "rejected at a gate (retry with --include-rejected)"
        elif why not in ("failed", "unfinished", "rejected"):
            left_out[name] = f"not retried: {why}"
        elif name not in current:
            left_out[name] = "no longer a deployable instance of the repo"
        else:
            run.add(current[name])
    return RetrySelection(frozenset(run), frozenset(untouched), left_out)
