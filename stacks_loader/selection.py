"""Which instances a run covers: `--all`, or `--stack` names, `stack/component` refs and globs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackflow.errors import ConfigError

from .graph import DependencyGraph
from .model import AwsFact, ExecRef, InstanceRef, StackInstance, StoreRef
from .stages import stage_edges
from .stores import plan_store_read

if TYPE_CHECKING:
    from .atmos_config import AtmosConfig, StoreConfig
    from .resolve import StackSet


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
        matched = {ref for ref in instances if _matches(ref, pattern)}
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
    graph: DependencyGraph  # selected instances, with dependency and stage edges
    generate_backend: bool
    excluded: dict[InstanceRef, str]  # matched but not deployed, with the reason
    stores: dict[str, "StoreConfig"] = field(default_factory=dict)  # atmos.yaml `stores:`, read at run time


def excluded_instances(
    instances: Mapping[InstanceRef, StackInstance], patterns: Iterable[str], *, all_instances: bool
) -> dict[InstanceRef, str]:
    """Disabled instances the selection names: reported as `excluded`, never run."""
    patterns = list(patterns)
    out = {}
    for ref, inst in instances.items():
        if inst.abstract or inst.enabled:
            continue
        if all_instances or any(_matches(ref, p) for p in patterns):
            out[ref] = "metadata.enabled is false"
    return out


def _matches(ref: InstanceRef, pattern: str) -> bool:
    stack_pat, _, component_pat = pattern.partition("/")
    return fnmatchcase(ref.stack, stack_pat) and fnmatchcase(ref.component, component_pat or "*")


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
    patterns = list(patterns)
    selected = select_instances(stackset.instances, patterns, all_instances=all_instances)
    excluded = excluded_instances(stackset.instances, patterns, all_instances=all_instances)
    return _target(stackset, graph, selected, excluded)


def select_refs(
    stackset: "StackSet",
    refs: Iterable[InstanceRef],
    *,
    excluded: Mapping[InstanceRef, str] | None = None,
) -> DeployTarget:
    """The `DeployTarget` `select_target` would give for an explicit set of instances (e.g. the
    affected ones): the whole graph validated first, then cut to `refs`.

    Refs the repo has but cannot deploy (disabled, abstract) and `excluded` ones (e.g. deleted in
    head) are reported as excluded, never run; an unknown ref is a ConfigError.
    """
    graph = stackset.graph()  # validates every edge and cycles before anything runs
    selected: set[InstanceRef] = set()
    out: dict[InstanceRef, str] = dict(excluded or {})
    for ref in sorted(set(refs)):
        inst = stackset.instances.get(ref)
        if inst is None:
            raise ConfigError(f"{ref}: no such instance in the repo")
        if inst.deployable:
            selected.add(ref)
        elif not inst.abstract:
            out[ref] = "metadata.enabled is false"
    return _target(stackset, graph, selected, out)


def _target(stackset: "StackSet", graph: DependencyGraph, selected: set[InstanceRef],
            excluded: dict[InstanceRef, str]) -> DeployTarget:
    """The selected subgraph, with stage promotion edges, as one run covers it."""
    stackset.refuse_ambiguous(selected, "this run")
    for ref in sorted(selected):
        _refuse_run_time_values(stackset.instances[ref], stackset.atmos)
    run_graph = graph.subgraph(selected)
    run_graph.add_edges(stage_edges(stackset.instances, selected), why="settings.stackflow.stages")
    return DeployTarget(
        instances=stackset.instances,
        graph=run_graph,
        generate_backend=stackset.atmos.auto_generate_backend_file,
        excluded=excluded,
        stores=stackset.atmos.stores,
    )


def _refuse_run_time_values(inst: StackInstance, atmos: AtmosConfig) -> None:
    """A run needing a store value or an `!aws.*` fact stackflow cannot fill is refused before
    anything is planned (planning the other instances would leave the change half applied):
    `!secret`, an unknown or unsupported store, a secret store read with `!store`, a query that is
    not a path, or either kind outside `vars` (only vars are filled at run time, as
    `!terraform.output`)."""
    for section in ("vars", "env", "providers", "backend", "remote_state_backend"):
        for path, value in _leaves(getattr(inst, section), section):
            if isinstance(value, AwsFact):
                if section == "vars":
                    continue
                why = f"stackflow fills !aws.* values in vars only, not in {section}"
            elif isinstance(value, ExecRef):
                if section == "vars":
                    continue
                why = f"stackflow runs !exec commands for vars only, not in {section}"
            elif not isinstance(value, StoreRef):
                continue
            elif section != "vars":
                why = f"stackflow fills store values in vars only, not in {section}"
            else:
                try:
                    plan_store_read(value, inst.stack, atmos.stores)
                    continue
                except ConfigError as exc:
                    why = str(exc)
            raise ConfigError(
                f"{atmos.stacks_path(inst.stack_file)}: stack {inst.stack!r} component {inst.component!r}: "
                f"{path}: {value}: {why}, so this run is refused before anything is planned "
                "(describe, the graph and describe affected work)"
            )


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value
