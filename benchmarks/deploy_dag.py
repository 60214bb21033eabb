"""Deploy-flow scheduling benchmark: makespan and per-instance overhead on a real Prefect engine.

The plan/apply steps are stand-ins that sleep for the instance's duration (this measures the
orchestration, not terraform). Three figures, each against a baseline measured in the same run:

  (a) 200-instance DAG, skewed durations, no cap: makespan / critical path        (goal <= 1.05)
  (b) same DAG, parallelism 8: eager critical-path makespan / level-by-level waves (goal <= 0.75)
  (c) 500 instances, no-op steps, one at a time: overhead per instance, median     (goal <= 50 ms)
      and its ratio to the same queue driven by a bare thread pool (no Prefect)

Run: `.venv/bin/python benchmarks/deploy_dag.py [--scale 1.0] [--json out.json]`
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from stackflow.flows.deploy import run_graph
from stackflow.stacks_loader.graph import DependencyGraph
from stackflow.stacks_loader.model import Dependency, InstanceRef, StackInstance
from stackflow.stacks_loader.schedule import DeployQueue, remaining_critical_path
from stackflow.tasks.terraform import ApplyResult, PlanResult, PlanSummary


def build_dag(n: int, seed: int, scale: float) -> tuple[dict[InstanceRef, StackInstance], dict[InstanceRef, float]]:
    """A layered DAG like a platform repo: few roots, fan-out, a long heavy chain, skewed times."""
    rng = random.Random(seed)
    levels = 10
    per_level = [max(1, round(n * w)) for w in (0.02, 0.05, 0.08, 0.1, 0.12, 0.13, 0.13, 0.13, 0.12, 0.12)]
    per_level[-1] += n - sum(per_level)
    refs: list[list[InstanceRef]] = []
    instances: dict[InstanceRef, StackInstance] = {}
    durations: dict[InstanceRef, float] = {}
    k = 0
    for level in range(levels):
        row = []
        for _ in range(per_level[level]):
            ref = InstanceRef(f"stack-{k % 17}", f"c{k:04d}")
            k += 1
            deps = []
            if level:
                pool = [r for lv in refs[max(0, level - 3):level] for r in lv]
                for parent in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                    deps.append(Dependency(parent, "settings.depends_on"))
            instances[ref] = StackInstance(ref.stack, ref.component, "components/terraform/x",
                                           "bench.yaml", dependencies=deps)
            # skewed like terraform: most plans take a second or two, a few are slow
            # (databases, clusters)
            durations[ref] = scale * (rng.choice([0.5, 1.0, 1.5, 2.0]) if rng.random() > 0.1
                                      else rng.choice([5.0, 8.0]))
            row.append(ref)
        refs.append(row)
    return instances, durations


class SleepSteps:
    """Stand-in for terraform: plan sleeps the instance's duration, apply returns at once."""

    def __init__(self, durations: dict[InstanceRef, float]) -> None:
        self.durations = durations
        self.starts: dict[str, float] = {}
        self._lock = threading.Lock()

    def plan(self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool,
             destroy: bool) -> PlanResult:
        with self._lock:
            self.starts[str(instance.ref)] = time.perf_counter()
        time.sleep(self.durations.get(instance.ref, 0.0))
        return PlanResult(str(instance.ref), PlanSummary(add=1), 0.0)

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult:
        return ApplyResult(str(instance.ref))

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]:
        return {}


@flow(name="bench-eager")
def eager_flow(instances, durations, parallelism: int, graph_edges) -> float:
    graph = DependencyGraph.from_instances(instances)
    started = time.perf_counter()
    run_graph(graph, instances, SleepSteps(durations), mode="apply", parallelism=parallelism)
    return time.perf_counter() - started


@task(cache_policy=NO_CACHE, persist_result=False)
def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def waves_makespan(graph: DependencyGraph, durations: dict[InstanceRef, float], parallelism: int) -> float:
    """Baseline: the same steps as Prefect tasks, run level by level (wait for a whole level)."""

    @flow(name="bench-waves", task_runner=ThreadPoolTaskRunner(max_workers=parallelism))
    def waves() -> float:
        started = time.perf_counter()
        for level in graph.levels():
            futures = [_sleep.submit(durations[ref]) for ref in level]
            for f in futures:
                f.wait()
            # apply step: trivial, as in SleepSteps
            for f in [_sleep.submit(0.0) for _ in level]:
                f.wait()
        return time.perf_counter() - started

    return waves()


def bare_overhead(instances: dict[InstanceRef, StackInstance], n: int) -> list[float]:
    """Baseline for (c): the same DeployQueue driven by a plain thread pool, no Prefect."""
    graph = DependencyGraph.from_instances(instances)
    queue = DeployQueue(graph)
    starts = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        while not queue.finished:
            for ref in queue.pop_ready(1):
                starts.append(time.perf_counter())
                pool.submit(lambda: None).result()  # plan
                pool.submit(lambda: None).result()  # apply
                queue.succeed(ref)
    return [b - a for a, b in zip(starts, starts[1:])]


@flow(name="bench-overhead")
def overhead_flow(instances) -> list[float]:
    graph = DependencyGraph.from_instances(instances)
    steps = SleepSteps({})
    run_graph(graph, instances, steps, mode="apply", parallelism=1)
    starts = sorted(steps.starts.values())
    return [b - a for a, b in zip(starts, starts[1:])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every step duration")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--overhead-instances", type=int, default=500)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    results: dict[str, Any] = {}
    with prefect_test_harness(server_startup_timeout=180):
        instances, durations = build_dag(args.instances, seed=7, scale=args.scale)
        graph = DependencyGraph.from_instances(instances)
        critical = max(remaining_critical_path(graph, durations).values())
        makespan = eager_flow(instances, durations, parallelism=args.instances, graph_edges=None)
        results["a_makespan_s"] = makespan
        results["a_critical_path_s"] = critical
        results["a_ratio"] = makespan / critical

        eager8 = eager_flow(instances, durations, parallelism=8, graph_edges=None)
        waves8 = waves_makespan(graph, durations, 8)
        results["b_eager_s"], results["b_waves_s"] = eager8, waves8
        results["b_ratio"] = eager8 / waves8

        flat = {InstanceRef("s", f"c{i:04d}"): StackInstance("s", f"c{i:04d}", "components/terraform/x", "b.yaml")
                for i in range(args.overhead_instances)}
        per_instance = overhead_flow(flat)
        bare = bare_overhead(flat, args.overhead_instances)
        results["c_median_ms"] = statistics.median(per_instance) * 1000
        results["c_p90_ms"] = statistics.quantiles(per_instance, n=10)[-1] * 1000
        results["c_bare_median_ms"] = statistics.median(bare) * 1000
        results["c_ratio_vs_bare"] = statistics.median(per_instance) / max(statistics.median(bare), 1e-9)

    print(f"(a) {args.instances} instances, no cap: makespan {results['a_makespan_s']:.2f}s vs critical path "
          f"{results['a_critical_path_s']:.2f}s = {results['a_ratio']:.3f}x (goal <= 1.05)")
    print(f"(b) parallelism 8: eager {results['b_eager_s']:.2f}s vs waves {results['b_waves_s']:.2f}s = "
          f"{results['b_ratio']:.3f}x ({(1 - results['b_ratio']) * 100:.0f}% faster; goal >= 25%)")
    print(f"(c) {args.overhead_instances} instances, no-op steps: {results['c_median_ms']:.1f} ms median "
          f"per instance (p90 {results['c_p90_ms']:.1f} ms; goal <= 50 ms); bare thread pool "
          f"{results['c_bare_median_ms']:.3f} ms")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
