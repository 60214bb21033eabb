"""DeployQueue: eager readiness, critical-path priority, skip-descendants semantics (pure)."""

from stackflow.stacks_loader.graph import DependencyGraph
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.schedule import DeployQueue, remaining_critical_path
from tests.flows.fake_steps import make_instances

R = InstanceRef.parse


def _queue(edges, durations=None):
    return DeployQueue(DependencyGraph.from_instances(make_instances(edges)), durations)


def test_child_is_ready_the_moment_its_own_parents_succeed_not_a_whole_wave():
    q = _queue({"s/b": ["s/a"], "s/slow2": ["s/slow"]})
    first = q.pop_ready(10)
    assert set(first) == {R("s/a"), R("s/slow")}
    q.succeed(R("s/a"))
    assert q.pop_ready(10) == [R("s/b")]  # s/slow is still running: no waiting for the wave


def test_longest_remaining_critical_path_goes_first_when_slots_are_scarce():
    q = _queue({"s/b": ["s/a"], "s/c": ["s/b"], "s/x": []}, {R("s/x"): 1.5})
    assert q.pop_ready(1) == [R("s/a")]  # a→b→c = 3 > x = 1.5


def test_critical_path_uses_known_durations():
    graph = DependencyGraph.from_instances(make_instances({"s/b": ["s/a"]}))
    cp = remaining_critical_path(graph, {R("s/a"): 2.0, R("s/b"): 5.0})
    assert cp == {R("s/a"): 7.0, R("s/b"): 5.0}


def test_failure_skips_descendants_only_and_names_the_failed_ancestor():
    q = _queue({"s/b": ["s/a"], "s/c": ["s/b"], "s/x": []})
    q.pop_ready(10)
    assert q.fail(R("s/a")) == [R("s/b"), R("s/c")]
    assert q.skipped_because == {R("s/b"): R("s/a"), R("s/c"): R("s/a")}
    assert q.state[R("s/x")] == "running"
    q.succeed(R("s/x"))
    assert q.finished


def test_child_with_two_parents_waits_for_both():
    q = _queue({"s/c": ["s/a", "s/b"]})
    q.pop_ready(10)
    q.succeed(R("s/a"))
    assert q.pop_ready(10) == []
    q.succeed(R("s/b"))
    assert q.pop_ready(10) == [R("s/c")]


def test_halt_skips_every_pending_instance():
    q = _queue({"s/b": ["s/a"], "s/y": []})
    q.pop_ready(1)
    skipped = q.halt(R("s/a"))
    assert R("s/b") in skipped


def test_random_graphs_and_outcomes_keep_every_scheduling_promise():
    """500 random DAGs, random durations, failures and finishing order, 1-4 slots: nothing starts
    before its parents succeeded or beyond the cap, every descendant of a failure is skipped and
    never started, and everything else runs."""
    import random

    import networkx as nx

    rnd = random.Random(5)
    for _ in range(500):
        refs = [R(f"s/c{i:02d}") for i in range(rnd.randint(1, 25))]
        digraph = nx.DiGraph()
        digraph.add_nodes_from(refs)
        digraph.add_edges_from((a, b) for i, a in enumerate(refs) for b in refs[i + 1:] if rnd.random() < 0.15)
        q = DeployQueue(DependencyGraph(digraph), {r: rnd.random() * 5 for r in refs})
        fails = {r for r in refs if rnd.random() < 0.2}
        cap = rnd.randint(1, 4)
        running: list = []
        started, succeeded = set(), set()
        while not q.finished:
            for ref in q.pop_ready(cap - q.running):
                assert set(digraph.predecessors(ref)) <= succeeded
                running.append(ref)
                started.add(ref)
            assert 0 < q.running <= cap and len(running) == q.running
            ref = running.pop(rnd.randrange(len(running)))
            if ref in fails:
                q.fail(ref)
            else:
                q.succeed(ref)
                succeeded.add(ref)
        doomed = set().union(*(nx.descendants(digraph, f) for f in fails & started))
        for ref in refs:
            if ref in doomed:
                assert q.state[ref] == "skipped" and ref not in started
            else:
                assert ref in started and q.state[ref] == ("failed" if ref in fails else "succeeded")
