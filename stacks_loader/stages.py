"""Progressive stages: one commit promoted dev → staging → prod inside one run.

With `settings.stackflow.stages: [dev, staging, prod]`, an instance whose `stage` var is a later
stage waits for the same component in the nearest earlier stage that is part of the run (every
stack of that stage: prod in two regions waits for staging). The edges are added to the run's
graph like dependencies, so a failure in dev skips staging and prod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stackflow.errors import ConfigError

from .model import InstanceRef, StackInstance


def stackflow_settings(instance: StackInstance) -> Mapping[str, Any]:
    """The instance's resolved `settings.stackflow` section ({} when unset)."""
    section = instance.settings.get("stackflow") or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"{instance.stack_file}: {instance.ref}: settings.stackflow must be a map")
    return section


def _stage_order(instance: StackInstance) -> list[str]:
    stages = stackflow_settings(instance).get("stages") or []
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise ConfigError(
            f"{instance.stack_file}: {instance.ref}: settings.stackflow.stages must be a list of stage names"
        )
    return stages


def stage_edges(
    instances: Mapping[InstanceRef, StackInstance], selected: Iterable[InstanceRef]
) -> list[tuple[InstanceRef, InstanceRef]]:
    """(earlier-stage instance, later-stage instance) pairs among the selected instances."""
    chosen = [instances[ref] for ref in selected]
    by_component_stage: dict[tuple[str, str], list[InstanceRef]] = {}
    for inst in chosen:
        stage = inst.vars.get("stage")
        if isinstance(stage, str):
            by_component_stage.setdefault((inst.component, stage), []).append(inst.ref)
    edges = []
    for inst in chosen:
        order = _stage_order(inst)
        stage = inst.vars.get("stage")
        if not order or stage not in order:
            continue
        for earlier in reversed(order[: order.index(stage)]):
            parents = by_component_stage.get((inst.component, earlier))
            if parents:
                edges.extend((parent, inst.ref) for parent in sorted(parents))
                break
    return edges


def validation_command(instance: StackInstance) -> str | None:
    """`settings.stackflow.validate`: a shell command run after the instance is applied."""
    command = stackflow_settings(instance).get("validate")
    if command is None:
        return None
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(
            f"{instance.stack_file}: {instance.ref}: settings.stackflow.validate must be a command string"
        )
    return command
