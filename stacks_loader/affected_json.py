"""The JSON of `atmos describe affected --include-dependents --format json`, both ways.

`affected_to_json` writes it from an `AffectedSet`; `read_affected_json` reads one (ours or
Atmos', e.g. produced in CI) back, validated, and maps it to instances of the current repo.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stackflow.errors import ConfigError

from .affected import AffectedInstance, AffectedSet
from .atmos_config import AtmosConfig
from .describe import jsonable
from .graph import DependencyGraph
from .integrations import atlantis_project, spacelift_stack
from .model import InstanceRef, StackInstance
from .naming import context_value
from .resolve import StackSet

COMPONENT_TYPE = "terraform"
_CONTEXT = ("namespace", "tenant", "environment", "stage")


def stack_slug(ref: InstanceRef) -> str:
    """Atmos' `stack_slug`: the stack, a dash, the component with `/` turned into `-`."""
    return f"{ref.stack}-{ref.component.replace('/', '-')}"


def affected_to_json(aset: AffectedSet) -> list[dict[str, Any]]:
    """The Atmos list: directly affected instances (with their dependents tree when the set was
    computed with dependents), then the deleted ones (`deleted: true`)."""
    graph = aset.head.graph() if aset.include_dependents and aset.affected else None
    items = []
    for ref in sorted(aset.affected):
        item = _item(aset.affected[ref], aset.head.instances[ref], aset.head.atmos)
        item["dependents"] = _dependents(ref, graph, aset.head) if graph is not None else []
        items.append(item)
    _mark_included_in_dependents(items)
    for ref in sorted(aset.deleted):
        assert aset.base is not None
        item = _item(aset.deleted[ref], aset.base.instances[ref], aset.head.atmos, strict=False)
        item["deleted"] = True
        item["deletion_type"] = aset.deleted[ref].deletion_type
        items.append(item)
    return items


def _item(
    found: AffectedInstance, inst: StackInstance, atmos: AtmosConfig, *, strict: bool = True
) -> dict[str, Any]:
    item: dict[str, Any] = {"component": inst.component, "component_type": COMPONENT_TYPE,
                            "component_path": inst.described_path}
    item.update(_context(inst))
    item.update({"stack": inst.stack, "stack_slug": stack_slug(inst.ref)})
    item.update(_integrations(inst, atmos, strict))
    item.update({"affected": found.reason, "affected_all": list(found.reasons)})
    if found.file:
        item["file"] = found.file
    if found.folder:
        item["folder"] = found.folder
    item.update({"dependents": [], "included_in_dependents": False, "settings": jsonable(inst.settings)})
    return item


def _integrations(inst: StackInstance, atmos: AtmosConfig, strict: bool) -> dict[str, str]:
    """`spacelift_stack` and `atlantis_project` when set (omitted when empty, as Atmos). Atmos fails
    `describe affected` on a Spacelift name it cannot build, but leaves it out of a dependent or
    a deleted entry (`strict=False`)."""
    try:
        names = {"spacelift_stack": spacelift_stack(inst, atmos), "atlantis_project": atlantis_project(inst, atmos)}
    except ConfigError:
        if strict:
            raise
        names = {"atlantis_project": atlantis_project(inst, atmos)}
    return {key: value for key, value in names.items() if value}


def _context(inst: StackInstance) -> dict[str, str]:
    return {key: str(inst.vars[key]) for key in _CONTEXT if isinstance(inst.vars.get(key), (str, int))}


def listed_dependents(ref: InstanceRef, graph: DependencyGraph, stackset: StackSet) -> list[InstanceRef]:
    """The children of `ref` that Atmos' describe dependents lists (`describe_dependents.go`).

    Output only: the deploy graph keeps every declared edge. Atmos skips a dependent named like
    the target's component (its self-reference check compares component names only), and a
    legacy `settings.depends_on` entry naming its stack still has to match the target's context
    (`matchLegacyContextFields`: the fields it gives, else the dependent's own).
    """
    parent = stackset.instances.get(ref)
    out = []
    for child in graph.children(ref):
        if child.component == ref.component:
            continue
        inst = stackset.instances.get(child)
        if parent is not None and inst is not None:
            edges = [d for d in inst.dependencies if d.parent == ref]
            if edges and all(d.context and not _context_matches(d.context, parent) for d in edges):
                continue
        out.append(child)
    return out


def _context_matches(wanted: tuple[tuple[str, str], ...], parent: StackInstance) -> bool:
    return all(context_value(parent.vars.get(key)) == value for key, value in wanted)


def _dependents(ref: InstanceRef, graph: DependencyGraph, head: StackSet) -> list[dict[str, Any]]:
    """Atmos' nested tree: each direct dependent with its own dependents."""
    out = []
    for child in listed_dependents(ref, graph, head):
        inst = head.instances[child]
        node: dict[str, Any] = {"component": inst.component, "component_type": COMPONENT_TYPE,
                                "component_path": inst.described_path}
        node.update(_context(inst))
        node.update({"stack": inst.stack, "stack_slug": stack_slug(child)})
        node.update(_integrations(inst, head.atmos, strict=False))
        node.update({"dependents": _dependents(child, graph, head), "included_in_dependents": False,
                     "settings": jsonable(inst.settings)})
        out.append(node)
    return out


def _slugs(nodes: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        found.add(node["stack_slug"])
        found |= _slugs(node["dependents"])
    return found


def _mark_included_in_dependents(items: list[dict[str, Any]]) -> None:
    """As Atmos: an affected item is `included_in_dependents` when another affected item's
    dependents tree already holds it; inside the others, a dependent is marked when a sibling's
    subtree holds it (so a runner can skip it there)."""
    for index, item in enumerate(items):
        others = set().union(*(_slugs(o["dependents"]) for i, o in enumerate(items) if i != index)) \
            if len(items) > 1 else set()
        item["included_in_dependents"] = item["stack_slug"] in others
        if not item["included_in_dependents"]:
            _mark_peers(item["dependents"])


def _mark_peers(nodes: list[dict[str, Any]]) -> None:
    for index, node in enumerate(nodes):
        siblings = [n for i, n in enumerate(nodes) if i != index]
        node["included_in_dependents"] = any(
            n["stack_slug"] == node["stack_slug"] or node["stack_slug"] in _slugs(n["dependents"]) for n in siblings
        )
        _mark_peers(node["dependents"])


# ---- reading an affected JSON (from CI) ------------------------------------------------------


@dataclass(frozen=True)
class AffectedEntry:
    """One validated top-level entry of an affected JSON."""

    index: int
    ref: InstanceRef
    reason: str
    deleted: bool
    dependents: tuple[InstanceRef, ...]  # every nested dependent, flattened


def parse_affected_json(text: str, where: str) -> list[AffectedEntry]:
    """Validate the JSON text of file `where`; a bad entry or field is a one-line ConfigError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a JSON list of affected components "
                          f"(atmos describe affected --format json), got {type(data).__name__}")
    entries = []
    for index, raw in enumerate(data):
        at = f"{where}: entry [{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{at}: expected an object, got {type(raw).__name__}")
        ref = _ref(raw, at)
        reason = raw.get("affected", "")
        if not isinstance(reason, str) or not reason:
            raise ConfigError(f"{at} ({ref}): field 'affected' must be a non-empty string")
        reasons = raw.get("affected_all", [reason])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise ConfigError(f"{at} ({ref}): field 'affected_all' must be a list of strings")
        deleted = raw.get("deleted", False)
        if not isinstance(deleted, bool):
            raise ConfigError(f"{at} ({ref}): field 'deleted' must be true or false")
        entries.append(AffectedEntry(index, ref, reason, deleted, tuple(_flat_dependents(raw, at))))
    return entries


def _ref(raw: dict[str, Any], at: str) -> InstanceRef:
    for key in ("component", "stack"):
        if key not in raw:
            raise ConfigError(f"{at}: missing field {key!r}")
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise ConfigError(f"{at}: field {key!r} must be a non-empty string")
    kind = raw.get("component_type", COMPONENT_TYPE)
    if kind != COMPONENT_TYPE:
        raise ConfigError(f"{at}: component_type {kind!r} is not supported (only terraform)")
    ref = InstanceRef(raw["stack"], raw["component"])
    slug = raw.get("stack_slug")
    if slug is not None and slug != stack_slug(ref):
        raise ConfigError(f"{at}: stack_slug {slug!r} does not match stack {ref.stack!r} "
                          f"and component {ref.component!r} (expected {stack_slug(ref)!r})")
    return ref


def _flat_dependents(raw: dict[str, Any], at: str) -> list[InstanceRef]:
    dependents = raw.get("dependents", [])
    if dependents is None:
        return []
    if not isinstance(dependents, list):
        raise ConfigError(f"{at}: field 'dependents' must be a list")
    out = []
    for index, child in enumerate(dependents):
        child_at = f"{at}.dependents[{index}]"
        if not isinstance(child, dict):
            raise ConfigError(f"{child_at}: expected an object, got {type(child).__name__}")
        out.append(_ref(child, child_at))
        out += _flat_dependents(child, child_at)
    return out


def read_affected_file(path: str) -> list[AffectedEntry]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the affected file ({exc.strerror})") from None
    return parse_affected_json(text, path)


def refs_from_entries(
    entries: list[AffectedEntry], stackset: StackSet, where: str, *, include_dependents: bool = True
) -> tuple[set[InstanceRef], dict[InstanceRef, str]]:
    """Map entries to instances of the current repo: (to run, deleted → reason).

    An entry naming an instance the repo does not have is a ConfigError (the file was made for
    another commit); a `deleted` entry must be absent from the repo.
    """
    run: set[InstanceRef] = set()
    deleted: dict[InstanceRef, str] = {}
    for entry in entries:
        at = f"{where}: entry [{entry.index}] ({entry.ref})"
        if entry.deleted:
            if entry.ref in stackset.instances:
                raise ConfigError(f"{at}: marked deleted, but the repo still has this instance")
            deleted[entry.ref] = DELETED_REASON
            continue
        refs = [entry.ref, *(entry.dependents if include_dependents else ())]
        for ref in refs:
            inst = stackset.instances.get(ref)
            if inst is None:
                stacks = {r.stack for r in stackset.instances}
                why = f"no stack {ref.stack!r}" if ref.stack not in stacks else \
                    f"stack {ref.stack!r} has no component {ref.component!r}"
                raise ConfigError(f"{at}: {ref} is not in this repo ({why}); was the file made for another commit?")
            if inst.deployable:
                run.add(ref)
    return run, deleted


DELETED_REASON = "deleted in head: run --mode destroy on the base commit"


def dependents_to_json(stackset: StackSet, component: str, stack: str) -> list[dict[str, Any]]:
    """`atmos describe dependents`: the instances that depend on one, each with its own tree."""
    from .describe import describe_component

    describe_component(stackset, component, stack)  # the one-line error for an unknown instance
    ref = InstanceRef(stack, component)
    graph = stackset.graph()
    if ref not in graph:
        return []
    tree = _dependents(ref, graph, stackset)
    _mark_peers(tree)
    return tree
