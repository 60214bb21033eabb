"""`select_retry`: which instances a retry runs, from a previous run's outcomes (pure, no ledger)."""

from __future__ import annotations

from stackflow.stacks_loader.graph import DependencyGraph
from stackflow.stacks_loader.outcome import StackOutcome
from stackflow.stacks_loader.retry import select_retry
from tests.flows.fake_steps import make_instances

# a → b → c → d ; a → x ; y alone
EDGES = {"s/b": ["s/a"], "s/c": ["s/b"], "s/d": ["s/c"], "s/x": ["s/a"], "s/y": []}
GRAPH = DependencyGraph.from_instances(make_instances(EDGES))
ALL = [str(r) for r in GRAPH.order()]


def _o(name: str, status: str, reason: str = "", cause: str = "") -> StackOutcome:
    stack, component = name.split("/")
    return StackOutcome(stack, component, status, reason, cause)  # type: ignore[arg-type]


def _names(selection) -> set[str]:
    return {str(r) for r in selection.run}


def test_failed_instance_and_those_skipped_because_of_it_are_retried_the_rest_left_alone():
    outcomes = {o.instance: o for o in [
        _o("s/a", "succeeded", "applied"), _o("s/b", "failed", "run error", "invalid CIDR"),
        _o("s/c", "skipped", "ancestor failed", "s/b"), _o("s/d", "skipped", "ancestor failed", "s/b"),
        _o("s/x", "succeeded", "applied"), _o("s/y", "no changes"),
    ]}
    selection = select_retry(ALL, outcomes, GRAPH)
    assert _names(selection) == {"s/b", "s/c", "s/d"}
    assert {str(r) for r in selection.untouched} == {"s/a", "s/x", "s/y"}


def test_instances_skipped_by_fail_fast_and_those_a_crash_never_reached_are_retried():
    outcomes = {o.instance: o for o in [
        _o("s/a", "succeeded"), _o("s/y", "failed", "run error", "boom"),
        _o("s/x", "skipped", "fail-fast", "s/y"),
    ]}  # b, c, d: the run crashed before they ended
    assert _names(select_retry(ALL, outcomes, GRAPH)) == {"s/y", "s/x", "s/b", "s/c", "s/d"}


def test_rejected_instances_and_their_descendants_only_with_include_rejected():
    outcomes = {o.instance: o for o in [
        _o("s/a", "succeeded"), _o("s/b", "skipped", "rejected at approval gate by bob"),
        _o("s/c", "skipped", "ancestor not applied", "s/b"),
        _o("s/d", "skipped", "ancestor not applied", "s/b"),
        _o("s/x", "skipped", "approval gate"), _o("s/y", "succeeded"),
    ]}
    without = select_retry(ALL, outcomes, GRAPH)
    assert _names(without) == set()
    assert "include-rejected" in without.left_out["s/b"]
    assert _names(select_retry(ALL, outcomes, GRAPH, include_rejected=True)) == {"s/b", "s/c", "s/d"}
    # a rejection known only from the ledger's approvals counts the same
    assert _names(select_retry(ALL, outcomes, GRAPH, include_rejected=True, rejected={"s/x"})) == {
        "s/b", "s/c", "s/d", "s/x"}


def test_locked_and_plan_only_skips_are_not_retried_nor_instances_gone_from_the_repo():
    outcomes = {o.instance: o for o in [
        _o("s/a", "succeeded"), _o("s/b", "skipped", "locked (metadata.locked): planned, not applied"),
        _o("s/c", "skipped", "ancestor not applied", "s/b"),
        _o("s/d", "skipped", "ancestor not applied", "s/c"),
        _o("s/x", "skipped", "parent outputs not available until it is applied"),
        _o("s/gone", "failed", "run error", "boom"), _o("s/y", "failed", "run error"),
    ]}
    selection = select_retry([*ALL, "s/gone"], outcomes, GRAPH)
    assert _names(selection) == {"s/y"}
    assert selection.left_out["s/gone"] == "no longer a deployable instance of the repo"
    assert selection.left_out["s/d"].startswith("not retried: locked")


def test_a_run_that_fully_succeeded_has_nothing_to_retry():
    outcomes = {name: _o(name, "succeeded") for name in ALL}
    selection = select_retry(ALL, outcomes, GRAPH)
    assert not selection and len(selection.untouched) == len(ALL)
