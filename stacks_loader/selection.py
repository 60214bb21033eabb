"""Which instances a run covers: `--all`, or `--stack` names, `stack/component` refs and globs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from stackflow.errors import ConfigError

from .graph import DependencyGraph
from .model import InstanceRef, StackInstance


def select_instances(
    instances: Mapping[InstanceRef, StackInstance],
    patterns: Iterable[str] = (),
    *,
    all_instances: bool = False,
) -> set[InstanceRef]:
    """Deployable instances matching any pattern (`STACK`, `STACK/COMPONENT`, globs allowed)."""
    deployable = {ref for ref, inst in instances.items() if inst.deployable}
    patterns = list(patterns)
    if all_instances:
        if patterns:
            raise ConfigError("--all and --stack cannot be combined")
        return deployable
    if not patterns:
        raise ConfigError("nothing selected: give --all, --stack STACK[/COMPONENT] or a change")
    chosen: set[InstanceRef] = set()
    for pattern in patterns:
        if "/" in pattern:
            stack_pat, component_pat = pattern.split("/", 1)
        else:
            stack_pat, component_pat = pattern, "*"
        matched = {
            ref for ref in instances
            if fnmatchcase(ref.stack, stack_pat) and fnmatchcase(ref.component, component_pat)
        }
        if not matched:
            raise ConfigError(f"--stack {pattern}: no such stack or instance")
        usable = matched & deployable
        if not usable:
            inst = instances[min(matched)]
            why = "abstract" if inst.abstract else "disabled (metadata.enabled: false)"
            raise ConfigError(f"--stack {pattern}: {inst.ref} is {why}, not deployable")
        chosen |= usable
    return chosen


@dataclass
class DeployTarget:
    """What one run covers: every resolved instance, and the graph of the selected ones."""

    instances: dict[InstanceRef, StackInstance]
    graph: DependencyGraph
    generate_backend: bool


def select_target(
    repo: Path,
    environ: Mapping[str, str],
    patterns: Iterable[str],
    *,
    all_instances: bool = False,
    allow_exec: bool = False,
) -> DeployTarget:
    """Load the repo, validate the whole graph, and cut out the selected instances."""
    from .resolve import load_stacks

    stackset = load_stacks(repo, environ, allow_exec=allow_exec)
    graph = stackset.graph()  # validates every edge and cycles before anything runs
    selected = select_instances(stackset.instances, patterns, all_instances=all_instances)
    return DeployTarget(
        instances=stackset.instances,
        graph=graph.subgraph(selected),
        generate_backend=bool(getattr(stackset.atmos, "auto_generate_backend_file", True)),
    )
