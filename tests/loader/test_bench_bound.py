"""The loader benchmark's (b0) row is a lower bound only if it builds what the load returns."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stackflow.stacks_loader.resolve import load_stacks

from tests.bench import loader_bench


@pytest.mark.parametrize("shape", ["catalog-heavy", "inline"])
def test_the_no_resolution_bound_builds_the_loaded_instances_and_graph(tmp_path, shape):
    bench = loader_bench()
    bench.generate(tmp_path, 500, shape)
    stackset = load_stacks(tmp_path, {})
    finals = list(stackset.instances.values())
    built = bench.build_instances(finals)

    assert list(built) == list(stackset.instances)
    for ref, inst in stackset.instances.items():
        # the fields the bound leaves at their defaults (none set in the generated repo but one)
        assert built[ref] == replace(inst, dependencies_section=None)
        for name in ("vars", "settings", "env", "metadata", "backend", "providers", "remote_state_backend"):
            assert getattr(built[ref], name) is not getattr(inst, name)  # its own, as the load's

    graph = bench.build_graph(built)
    expected = stackset.graph().digraph
    assert set(graph.nodes) == set(expected.nodes) and len(graph) == 500
    assert set(graph.edges) == set(expected.edges) and graph.number_of_edges() > 0

    least = bench.build_least(finals)
    assert least.keys() == stackset.deployable().keys()
    assert set(bench.build_graph(least).edges) == set(expected.edges)
