"""JSON-ready views of a `StackSet` and its graph (shaped like `atmos describe …`), and diagrams."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stackflow.errors import ConfigError

from .graph import DependencyGraph
from .model import AwsFact, ExecRef, InstanceRef, StackInstance, StoreRef, TerraformOutputRef
from .naming import manifest_stem
from .resolve import StackSet
from .yaml_functions import LiteralString


# Atmos' component types; stackflow resolves Terraform components only
COMPONENT_TYPES = ("terraform", "helmfile", "packer")


def describe_stacks(
    stackset: StackSet,
    *,
    stack: str | None = None,
    components: Sequence[str] = (),
    component_types: Sequence[str] = (),
    sections: Sequence[str] = (),
    include_empty_stacks: bool = False,
) -> dict[str, Any]:
    """`{stack: {"components": {"terraform": {component: {...}}}}}`, sorted by stack and component.

    Atmos' filters: `stack` is a stack name or a top-level manifest (relative to the stacks base
    path, without its extension); `components` also takes the components whose deprecated
    top-level `component:` names one of them; `sections` keeps only those keys of each component.
    A name that matches nothing in the repo is an error (Atmos prints `{}`: a typo would pass).
    `include_empty_stacks` adds `{"components": {}}` for each top-level manifest whose stack name
    is known without its components (its own `name:`, or its file name when atmos.yaml sets no
    name pattern or template), as Atmos does.
    """
    _check_filters(stackset, stack, components, component_types)
    if component_types and "terraform" not in component_types:
        return _empty_stacks(stackset, stack) if include_empty_stacks else {}
    wanted = set(components)
    out: dict[str, Any] = {}
    known_sections: set[str] = set()
    for ref in sorted(stackset.instances):
        inst = stackset.instances[ref]
        if stack is not None and stack != inst.stack:
            # a manifest's own version: a stack several manifests make may define it in more than one
            inst = next((v for v in stackset.versions.get(ref, (inst,)) if manifest_stem(v.stack_file) == stack), None)
            if inst is None:
                continue
        if wanted and inst.component not in wanted and inst.legacy_base not in wanted:
            continue
        doc = describe_instance(inst, stackset)
        if sections:
            known_sections.update(doc)
            doc = {name: value for name, value in doc.items() if name in sections}
        entry = out.setdefault(inst.stack, {"components": {"terraform": {}}})
        entry["components"]["terraform"][inst.component] = doc
    unknown = sorted(set(sections) - known_sections) if out else []
    if unknown:
        raise ConfigError(f"describe stacks --sections: no section {', '.join(map(repr, unknown))} "
                          f"(a component has: {', '.join(sorted(known_sections))})")
    if include_empty_stacks:
        out = dict(sorted({**_empty_stacks(stackset, stack), **out}.items()))
    return out


def _empty_stacks(stackset: StackSet, stack: str | None) -> dict[str, Any]:
    """Atmos' `--include-empty-stacks` entries: a manifest named without its components' vars."""
    atmos = stackset.atmos
    out: dict[str, Any] = {}
    for manifest, own_name in stackset.manifest_names.items():
        if not own_name and (atmos.name_template or atmos.name_pattern):
            continue  # named per component: an empty one has no name (Atmos leaves it out too)
        name = own_name or manifest_stem(manifest)
        if "/" in name:
            continue  # no stack name stackflow takes (naming.py refuses it for a manifest with components)
        if stack is None or stack in (name, manifest_stem(manifest)):
            out[name] = {"components": {}}
    return out


def _check_filters(stackset: StackSet, stack: str | None, components: Sequence[str],
                   component_types: Sequence[str]) -> None:
    for kind in component_types:
        if kind not in COMPONENT_TYPES:
            raise ConfigError(f"describe stacks --component-types: unknown type {kind!r} "
                              f"(Atmos' types: {', '.join(COMPONENT_TYPES)})")
    if stack is not None and stack not in stackset.stack_names() and stack not in stackset.manifest_names.values() \
            and not any(stack == manifest_stem(manifest) for manifest in stackset.manifest_names):
        raise ConfigError(f"describe stacks -s {stack!r}: no stack or top-level stack manifest of that name")
    if components:
        names = {inst.component for inst in stackset.instances.values()}
        names |= {inst.legacy_base for inst in stackset.instances.values()}
        for name in components:
            if name not in names:
                raise ConfigError(f"describe stacks --components: no component {name!r} in any stack")


def describe_component(
    stackset: StackSet, component: str, stack: str, provenance: bool = False
) -> dict[str, Any]:
    """One instance as `atmos describe component` shows it; with `provenance`, where each
    top-level key of vars/settings/env was set (`{"vars.region": "stacks/mixins/….yaml"}`)."""
    ref = InstanceRef(stack, component)
    inst = stackset.instances.get(ref)
    if inst is None:
        stacks = {r.stack for r in stackset.instances}
        why = f"no stack {stack!r}" if stack not in stacks else f"stack {stack!r} has no component {component!r}"
        raise ConfigError(f"describe component {component!r} -s {stack!r}: {why}")
    stackset.refuse_ambiguous([ref], "describe component")
    doc = describe_instance(inst, stackset)
    if provenance:
        doc["provenance"] = stackset.provenance(ref)
    return doc


def describe_instance(inst: StackInstance, stackset: StackSet | None = None) -> dict[str, Any]:
    # Atmos reports its base component name here, not always the folder terraform runs in
    path = inst.described_path
    folder = path
    if stackset is not None:
        base = stackset.atmos.terraform_base_path
        folder = path[len(base) + 1 :] if base else path
    return {
        "atmos_component": inst.component,
        "atmos_stack": inst.stack,
        "atmos_stack_file": manifest_stem(inst.stack_file),  # as Atmos: without the extension
        "atmos_manifest": manifest_stem(inst.stack_file),
        "stack": inst.stack,
        "component": folder,
        "component_path": path,
        "workspace": inst.workspace,
        "command": inst.command,
        "metadata": jsonable(inst.metadata),
        "vars": jsonable(inst.vars),
        "settings": jsonable(inst.settings),
        "env": jsonable(inst.env),
        "providers": jsonable(inst.providers),
        "backend_type": inst.backend_type,
        "backend": jsonable(inst.backend),
        "remote_state_backend_type": inst.remote_state_backend_type,
        "remote_state_backend": jsonable(inst.remote_state_backend),
        **{name: jsonable(value) for name, value in inst.reported_sections.items()},
        "inheritance": list(inst.inheritance),
        "imports": list(inst.imports),
        "dependencies": [
            {"stack": d.parent.stack, "component": d.parent.component, "via": d.via, "entry": d.entry}
            for d in inst.dependencies
        ],
        "depends_on_files": list(inst.depends_on_files),
        "depends_on_folders": list(inst.depends_on_folders),
        "enabled": inst.enabled,
        "abstract": inst.abstract,
        "locked": inst.locked,
    }


def describe_graph(graph: DependencyGraph, stackset: StackSet) -> dict[str, Any]:
    nodes = []
    for ref in graph.nodes:
        inst = stackset.instances.get(ref)
        nodes.append(
            {
                "stack": ref.stack,
                "component": ref.component,
                "component_path": inst.component_path if inst else "",
                "workspace": inst.workspace if inst else "",
            }
        )
    edges = [
        {"from": {"stack": a.stack, "component": a.component}, "to": {"stack": b.stack, "component": b.component}}
        for a, b in sorted(graph.digraph.edges)
    ]
    return {"nodes": nodes, "edges": edges}


def graph_mermaid(graph: DependencyGraph) -> str:
    ids = {ref: f"n{i}" for i, ref in enumerate(graph.nodes)}
    lines = ["graph LR"]
    lines += [f'  {ids[ref]}["{ref}"]' for ref in graph.nodes]
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(graph.digraph.edges)]
    return "\n".join(lines)


def graph_dot(graph: DependencyGraph) -> str:
    lines = ["digraph stackflow {", "  rankdir=LR;"]
    lines += [f'  "{ref}";' for ref in graph.nodes]
    lines += [f'  "{a}" -> "{b}";' for a, b in sorted(graph.digraph.edges)]
    lines.append("}")
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    """Deferred values become their YAML-function text (`!terraform.output vpc plat-dev vpc_id`)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (TerraformOutputRef, ExecRef, StoreRef, AwsFact, LiteralString)):
        return str(value)  # a `!literal` too: its text, as a plain string
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
