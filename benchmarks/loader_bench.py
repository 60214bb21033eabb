"""Loader benchmark: a generated 10,000-instance Atmos repo, resolved and compared.

Four figures, each against the floor measured in the same run:

  (a) every YAML file parsed once with yaml.CSafeLoader                      (the floor)
  (b) load_stacks + graph(): every instance resolved, graph validated        (goal <= 2x (a), < 3 s)
  (b0) what any loader returning the same values pays with no resolution at all: (a), plus the
      instances built from their final values (each with its own top-level dicts, as the load
      promises) and the networkx graph built and checked for cycles; a lower bound for (b).
      Also the least the load could return: only the deployable instances, every dict shared.
  (c) affected for a one-file change, scoped to what the file can reach      (goal < 1 s)
      - a file in a component folder, - a catalog file, - a component added to a stack manifest
      each checked against the full comparison (same answer), which is timed too.

Peak memory (tracemalloc is too slow here: ru_maxrss of this process) is reported after (b) and (c);
(b0) runs last, so that its second copy of the instances is not counted.

Two shapes of repo, the same but for what each top-level stack manifest sets itself, measured
in YAML nodes per deployed instance (25 public Atmos repos: median 19.7; Cloud Posse's
quick-start-advanced 6.4 and atmos-pro-example-advanced 3.4):
  catalog-heavy  (the default) vars for one component in five: 3.8 nodes per instance, like Cloud
                 Posse's examples, where the catalog holds nearly everything; the likely shape
                 of a repo this big, and the worst case for (b)'s ratio, since parsing grows with
                 the YAML and resolving with the instances
  inline         vars for every component: 16.6 nodes per instance, just under the median repo

Run: `.venv/bin/python benchmarks/loader_bench.py [--shape catalog-heavy|inline] [--instances 10000] [--json out.json]`
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import networkx as nx

from stackflow.stacks_loader.affected import affected_between_trees
from stackflow.stacks_loader.affected_scope import affected_scoped
from stackflow.stacks_loader.gc_pause import paused_gc
from stackflow.stacks_loader.model import InstanceRef, StackInstance
from stackflow.stacks_loader.resolve import load_stacks
from stackflow.stacks_loader.source import FolderTree

ATMOS = """\
base_path: "."
components:
  terraform:
    base_path: components/terraform
stacks:
  base_path: stacks
  included_paths: ["orgs/**/*"]
  excluded_paths: ["**/_defaults.yaml"]
  name_pattern: "{tenant}-{environment}-{stage}"
"""
STAGES = ("dev", "staging", "prod", "sandbox")
REGIONS = ("ue1", "ue2", "uw1", "uw2", "ew1", "ew2", "ec1", "an1", "as1", "ss1", "ce1", "af1")
N_COMPONENTS = 40  # component folders; each stack deploys PER_STACK of them
PER_STACK = 25
SHAPES = ("catalog-heavy", "inline")


def generate(root: Path, instances: int, shape: str = "catalog-heavy") -> dict[str, Any]:
    """Write the repo; returns a few facts about it."""
    stacks_needed = max(1, instances // PER_STACK)
    tenants = max(1, -(-stacks_needed // (len(STAGES) * len(REGIONS))))
    files: dict[str, str] = {"atmos.yaml": ATMOS}
    components = [f"c{i:02d}" for i in range(N_COMPONENTS)]
    files["components/terraform/modules/labels/main.tf"] = 'variable "name" {}\n'
    for i, comp in enumerate(components):
        module = 'module "labels" {\n  source = "../modules/labels"\n  name = "x"\n}\n' if i % 3 == 0 else ""
        files[f"components/terraform/{comp}/main.tf"] = module + 'variable "size" {}\n'
        files[f"components/terraform/{comp}/variables.tf"] = 'variable "tags" {}\n'
        # shared catalog: an abstract base, and a concrete default inheriting it
        depends = ""
        if i % 5:  # inside a layer: each component depends on the one before (and the first)
            parents = sorted({f"c{i - 1:02d}", f"c{i - i % 5:02d}"})
            depends = "      settings:\n        depends_on:\n" + "".join(
                f"          {n}: {{component: {p}}}\n" for n, p in enumerate(parents, 1))
        files[f"stacks/catalog/{comp}/base.yaml"] = (
            f"# Shared defaults of {comp}: every stack that deploys it inherits these.\n"
            f"components:\n  terraform:\n    {comp}/base:\n      metadata: {{type: abstract, component: {comp}}}\n"
            f"      vars:\n        size: {i}\n        tags: {{team: t{i % 7}, tier: \"{i % 3}\", cost_center: cc{i}}}\n"
            f"        settings_list: [a, b, c]\n        retention_days: {30 + i}\n"
            f"        alarms:\n          cpu: {{threshold: 80, period: 300}}\n          memory: {{threshold: 90, period: 300}}\n"
            f"        subnets: [private-a, private-b, private-c]\n        encryption: {{enabled: true, kms_alias: alias/{comp}}}\n"
            f"      settings:\n        owner: team-{i % 7}\n        docs: https://wiki.example.com/{comp}\n"
        )
        files[f"stacks/catalog/{comp}/default.yaml"] = (
            f"import: [catalog/{comp}/base]\ncomponents:\n  terraform:\n    {comp}:\n"
            f"      metadata: {{component: {comp}, inherits: [{comp}/base]}}\n"
            f"      vars: {{enabled: true, name: {comp}}}\n{depends}"
        )
    # layers group the catalog (deep chains: stack → stage defaults → tenant defaults → org → layer → catalog)
    layer_size = 5
    layers = [components[i:i + layer_size] for i in range(0, N_COMPONENTS, layer_size)]
    for n, layer in enumerate(layers):
        files[f"stacks/catalog/layers/l{n}.yaml"] = "import:\n" + "".join(
            f"  - catalog/{c}/default\n" for c in layer)
    for region in REGIONS:
        files[f"stacks/mixins/region/{region}.yaml"] = (
            f"vars:\n  environment: {region}\n  region: {region}-region\n")
    for stage in STAGES:
        files[f"stacks/mixins/stage/{stage}.yaml"] = f"vars:\n  stage: {stage}\nsettings: {{tier: {stage}}}\n"
    files["stacks/orgs/_defaults.yaml"] = (
        "vars:\n  namespace: bench\nterraform:\n  backend_type: s3\n  backend:\n    s3: {bucket: state, region: us-east-1}\n")
    count = 0
    for t in range(tenants):
        tenant = f"t{t:02d}"
        files[f"stacks/orgs/{tenant}/_defaults.yaml"] = f"import: [orgs/_defaults]\nvars:\n  tenant: {tenant}\n"
        for stage in STAGES:
            files[f"stacks/orgs/{tenant}/{stage}/_defaults.yaml"] = (
                f"import: [orgs/{tenant}/_defaults, mixins/stage/{stage}]\n")
            for r, region in enumerate(REGIONS):
                if count >= stacks_needed:
                    break
                chosen = [layers[(r + k) % len(layers)] for k in range(PER_STACK // layer_size)]
                body = [f"import:\n  - orgs/{tenant}/{stage}/_defaults\n  - mixins/region/{region}\n"]
                body += [f"  - catalog/layers/l{layers.index(layer)}\n" for layer in chosen]
                body.append("components:\n  terraform:\n")
                for layer in chosen:
                    for comp in (layer if shape == "inline" else [layer[count % len(layer)]]):
                        body.append(f"    # {comp} sized for this stack\n    {comp}:\n      vars:\n"
                                    f"        size: {count % 97}\n        tags: {{stack_index: \"{count}\"}}\n"
                                    f"        alarms: {{cpu: {{threshold: {70 + count % 20}}}}}\n")
                files[f"stacks/orgs/{tenant}/{stage}/{region}.yaml"] = "".join(body)
                count += 1
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    top_level = sum(_nodes(yaml.compose(text, Loader=yaml.CSafeLoader)) for rel, text in files.items()
                    if rel.startswith("stacks/orgs/") and not rel.endswith("/_defaults.yaml"))
    return {"shape": shape, "stack_files": sum(1 for f in files if f.startswith("stacks/")), "stacks": count,
            "components": N_COMPONENTS, "yaml_bytes": sum(len(t) for r, t in files.items() if r.endswith(".yaml")),
            "top_level_nodes_per_instance": round(top_level / (count * PER_STACK), 1)}


def _nodes(node: yaml.Node) -> int:
    """YAML nodes (scalars, lists, maps; a map's keys too) in a composed document."""
    if isinstance(node, yaml.MappingNode):
        return 1 + sum(_nodes(key) + _nodes(value) for key, value in node.value)
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(map(_nodes, node.value))
    return 1


def parse_floor(root: Path) -> float:
    """(a): read and parse every YAML file once with the C loader."""
    start = time.perf_counter()
    for path in sorted((root / "stacks").rglob("*.yaml")):
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)  # noqa: S506 (CSafeLoader)
    yaml.load((root / "atmos.yaml").read_bytes(), Loader=yaml.CSafeLoader)  # noqa: S506
    return time.perf_counter() - start


def build_instances(instances: list[StackInstance]) -> dict[InstanceRef, StackInstance]:
    """(b0)'s first part: each instance made again from its final values, its top-level dicts and
    lists its own (the load's contract). Fields left at their defaults only lower the bound. The
    collector is paused, as the load pauses it."""
    with paused_gc():
        return _built(instances)


def _built(instances: list[StackInstance]) -> dict[InstanceRef, StackInstance]:
    built: dict[InstanceRef, StackInstance] = {}
    for i in instances:
        new = StackInstance(
            stack=i.stack, component=i.component, component_path=i.component_path, stack_file=i.stack_file,
            vars=dict(i.vars), settings=dict(i.settings), env=dict(i.env), metadata=dict(i.metadata),
            backend_type=i.backend_type, backend=dict(i.backend), providers=dict(i.providers),
            workspace=i.workspace, dependencies=list(i.dependencies), command=i.command,
            remote_state_backend_type=i.remote_state_backend_type,
            remote_state_backend=dict(i.remote_state_backend), inheritance=list(i.inheritance),
            imports=i.imports, base_component_path=i.base_component_path,
            reported_sections=dict(i.reported_sections),
        )
        built[InstanceRef(new.stack, new.component)] = new
    return built


def build_least(instances: list[StackInstance]) -> dict[InstanceRef, StackInstance]:
    """(b0)'s floor of floors: only the deployable instances, each sharing its values' dicts."""
    with paused_gc():
        return {
            InstanceRef(i.stack, i.component): StackInstance(
                stack=i.stack, component=i.component, component_path=i.component_path, stack_file=i.stack_file,
                vars=i.vars, metadata=i.metadata, dependencies=i.dependencies)
            for i in instances if i.deployable
        }


def build_graph(instances: dict[InstanceRef, StackInstance]) -> nx.DiGraph:
    """(b0)'s second part: the deployable instances' graph, checked for cycles; no sorting, no messages."""
    with paused_gc():
        deployable = [ref for ref, inst in instances.items() if inst.deployable]
        graph = nx.DiGraph()
        graph.add_nodes_from(deployable)
        graph.add_edges_from((dep.parent, ref) for ref in deployable for dep in instances[ref].dependencies)
        if not nx.is_directed_acyclic_graph(graph):
            raise SystemExit("the generated repo has a cycle")
    return graph


def best_of(fn, runs: int) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def summary(aset) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    return ([(str(r), f.reasons) for r, f in sorted(aset.affected.items())], sorted(map(str, aset.deleted)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="catalog-heavy",
                        help="what each top-level stack manifest sets itself (see the module's docstring)")
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="best of N for each figure")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="stackflow-loader-bench-"))
    try:
        base = work / "base"
        facts = generate(base, args.instances, args.shape)
        a, _ = best_of(lambda: parse_floor(base), args.runs)

        def full() -> int:
            stackset = load_stacks(base, {})
            stackset.graph()
            return len(stackset.deployable())

        b, n_instances = best_of(full, args.runs)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        base_stackset = load_stacks(base, {})

        results: dict[str, Any] = {"instances": n_instances, **facts, "a_parse_s": round(a, 3),
                                   "b_resolve_graph_s": round(b, 3), "b_ratio": round(b / a, 2),
                                   "peak_rss_mb": round(peak_mb, 1)}
        changes = {
            "component_folder": ("components/terraform/c07/main.tf", "# changed\n"),
            "catalog_file": ("stacks/catalog/c11/default.yaml", None),
            # an instance added: the manifests that may also define it are read too (stack composition)
            "new_instance": ("stacks/orgs/t00/dev/ue1.yaml",
                             "    extra:\n      metadata: {component: c01}\n      vars: {size: 1}\n"),
        }
        for name, (rel, extra) in changes.items():
            head = work / name
            shutil.copytree(base, head)
            path = head / rel
            text = path.read_text()
            path.write_text(text + extra if extra else text.replace("enabled: true", "enabled: true, x: 2"))
            base_tree, head_tree = FolderTree(base), FolderTree(head)
            c, scoped = best_of(lambda: affected_scoped(base_tree, head_tree, [rel]), args.runs)
            full_s, whole = best_of(lambda: affected_between_trees(base_tree, head_tree, [rel],
                                                                   base=base_stackset), 1)
            same = summary(scoped) == summary(whole)
            results[f"c_{name}_s"] = round(c, 3)
            results[f"c_{name}_ratio"] = round(c / a, 2)
            results[f"c_{name}_affected"] = len(scoped.affected)
            results[f"c_{name}_same_as_full"] = same
            results[f"c_{name}_full_s"] = round(full_s, 3)
        results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        # last: its second copy of every instance would count in the peak memory above
        finals = list(base_stackset.instances.values())
        build_s, built = best_of(lambda: build_instances(finals), args.runs)
        graph_s, _ = best_of(lambda: build_graph(built), args.runs)
        b0 = a + build_s + graph_s
        least_s, _ = best_of(lambda: build_graph(build_least(finals)), args.runs)
        results.update(b0_least_s=round(a + least_s, 3), b0_least_ratio=round((a + least_s) / a, 2))
        results.update(b0_bound_s=round(b0, 3), b0_ratio=round(b0 / a, 2), b0_build_instances_s=round(build_s, 3),
                       b0_graph_s=round(graph_s, 3), b0_instances_built=len(finals), b_over_b0=round(b / b0, 2))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"repo ({results['shape']} shape): {results['instances']} instances, {results['stacks']} stacks, "
          f"{results['stack_files']} stack files ({results['yaml_bytes'] // 1000} kB; top-level manifests "
          f"{results['top_level_nodes_per_instance']} YAML nodes per instance), {results['components']} component folders")
    print(f"(a) parse every YAML once (CSafeLoader):  {results['a_parse_s']:.3f} s   1.00x  (floor)")
    print(f"(b) resolve every instance + graph:        {results['b_resolve_graph_s']:.3f} s   "
          f"{results['b_ratio']:.2f}x  (goal <= 2x and < 3 s)")
    print(f"(b0) no resolution at all: (a) + {results['b0_instances_built']} instances built from their final "
          f"values ({results['b0_build_instances_s']:.3f} s) + graph ({results['b0_graph_s']:.3f} s): "
          f"{results['b0_bound_s']:.3f} s   {results['b0_ratio']:.2f}x  (a lower bound for (b); "
          f"(b) is {results['b_over_b0']:.2f}x it)")
    print(f"(b0) the least the load could return: (a) + the deployable instances alone, sharing every dict, "
          f"+ graph: {results['b0_least_s']:.3f} s   {results['b0_least_ratio']:.2f}x")
    labels = {"component_folder": "one file in a component folder", "catalog_file": "one catalog file",
              "new_instance": "a component added to a stack"}
    for name in changes:
        print(f"(c) affected, {labels[name]}: {results[f'c_{name}_s']:.3f} s   "
              f"{results[f'c_{name}_ratio']:.2f}x  (goal < 1 s; {results[f'c_{name}_affected']} affected, "
              f"same as full comparison: {results[f'c_{name}_same_as_full']}, full took "
              f"{results[f'c_{name}_full_s']:.2f} s)")
    print(f"peak memory (max RSS): {results['peak_rss_mb']:.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    ok = results["b_resolve_graph_s"] < 3 and all(results[f"c_{n}_same_as_full"] for n in changes)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
