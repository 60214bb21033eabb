"""The part of an instance that comes from its own section and its base components, built once.

Catalog components are shared: every stack importing a catalog file gets the same parsed
section, and the same base sections. So the layers above a stack's globals (the bases merged in
order, then the component, then its file-scoped overrides) are merged once per distinct set of
sections; each stack then merges only its globals underneath (`Tail.over`).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from .deferred_merge import DEFERRED_MERGE_SECTIONS, function_paths, plan_deferred_merges
from .merge import Tail, merge
from .yaml_functions import settle

_EMPTY: dict[str, Any] = {}
_SECTIONS = ("vars", "settings", "env", "providers", "backend", "remote_state_backend", "dependencies",
             "required_providers", "generate", "auth", "hooks", "locals")
_SOURCE_SECTIONS = ("source", "provision")  # inherited only with `stacks.inherit.source` (the default)
_INHERITED = frozenset(_SECTIONS)
_INHERITED_WITH_SOURCE = frozenset((*_SECTIONS, *_SOURCE_SECTIONS))


@dataclass(slots=True)
class ComponentPlan:
    """Per section, the layers above the stack's globals; per field, the value set so far."""

    vars: Tail
    base_vars: dict[str, Any] | None  # the bases' vars merged: what `vars_over_bases` puts another section's vars on
    settings: Tail
    env: Tail
    providers: Tail
    metadata: Tail
    dependencies: Tail
    backend: Tail
    remote_state_backend: Tail
    backend_type: str  # "" when neither the component nor its bases set it
    remote_state_backend_type: str
    command: str
    # the sections stackflow only reports (`schema.REPORTED_SECTIONS`)
    required_providers: Tail
    generate: Tail
    auth: Tail
    hooks: Tail
    source: Tail
    provision: Tail
    required_version: str
    # component-level `locals`: the bases', then its own (no globals, no overrides), as Atmos
    locals: Tail


class ComponentPlans:
    """Plans by the identity of the sections they were built from, shared by every stack of a load.

    Parsed manifests are never changed, and each plan holds its sections, so an id seen again
    is the same section.
    """

    def __init__(self, *, inherit_metadata: bool, inherit_source: bool = True) -> None:
        self.inherit_metadata = inherit_metadata
        self.inherit_source = inherit_source
        self._plans: dict[tuple[Any, ...], tuple[tuple[dict[str, Any], ...], ComponentPlan]] = {}
        self._layers: dict[tuple[Any, ...], tuple[tuple[Any, ...], int]] = {}
        # what a resolver derives from a component's section and a stack's layers (`StackResolver`)
        self.shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        # set once a stack's sections may hold `!append` lists (`Markers.append`): Atmos merges the
        # bases in calls of their own, which settle them, so `_build` settles what the bases give
        self.appends = False
        self._settled: dict[Any, Any] = {}
        # where each layer holds YAML functions Atmos merges once resolved (`deferred_merge.py`), by identity
        self.function_paths: dict[int, Any] = {}
        self._function_sections: dict[int, tuple[ComponentPlan, dict[str, Any]]] = {}

    def function_sections(self, plan: ComponentPlan) -> dict[str, tuple[tuple[Any, ...], ...] | None]:
        """The sections whose layers in `plan` hold a post-merge YAML function (`deferred_merge.py`):
        each with the functions' paths when, over no stack-wide layer, each function is alone at its
        path (nothing to merge), else None."""
        known = self._function_sections.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        cache = self.function_paths
        found: dict[str, tuple[tuple[Any, ...], ...] | None] = {}
        for key in DEFERRED_MERGE_SECTIONS:
            tail = getattr(plan, key)
            paths = [path for layer in tail.layers for path, _ in function_paths(layer, cache)]
            if paths:
                alone = tail.read_over(None)
                found[key] = tuple(paths) if plan_deferred_merges(key, alone, tail.layers, tail.strategy,
                                                                   cache) is alone else None
        self._function_sections[id(plan)] = (plan, found)  # the reference keeps the id from being reused
        return found

    def stack_layers(self, *layers: Any) -> int:
        """A number standing for a stack's layers (strings by value, anything else by identity, empty
        ones alike): two stacks get the same number when their layers are the same."""
        key = tuple([layer if type(layer) is str else id(layer) if layer else None for layer in layers])
        known = self._layers.get(key)
        if known is None:
            known = self._layers[key] = (layers, len(self._layers))  # holding the maps keeps their ids unique
        return known[1]

    def plan(self, own: dict[str, Any], bases: tuple[dict[str, Any], ...], strategy: str) -> ComponentPlan:
        """The plan of a component whose section is `own` and whose bases' are `bases` (merge order)."""
        sources = (own, *bases)
        key = (strategy, *map(id, sources))
        cached = self._plans.get(key)
        if cached is not None and all(map(operator.is_, cached[0], sources)):
            return cached[1]
        plan = self._build(own, bases, strategy)
        self._plans[key] = (sources, plan)
        return plan

    def _build(self, own: dict[str, Any], bases: tuple[dict[str, Any], ...], strategy: str) -> ComponentPlan:
        inherited: dict[str, dict[str, Any]] = {}
        metadata: dict[str, Any] = _EMPTY
        backend_type = remote_type = command = required_version = ""
        inherited_sections = _INHERITED_WITH_SOURCE if self.inherit_source else _INHERITED
        for section in bases:
            # only the sections this base has (each merges on its own: their order does not matter)
            for name in inherited_sections.intersection(section):
                layer = section[name]
                if layer:
                    if name == "source":
                        layer = source_section(layer)
                    below = inherited.get(name)
                    inherited[name] = merge(below, layer, strategy) if below else layer
            required_version = section.get("required_version") or required_version  # the last one set
            if self.inherit_metadata and section.get("metadata"):
                kept = {k: v for k, v in section["metadata"].items() if k not in ("inherits", "type")}
                metadata = merge(metadata, kept, strategy) if metadata else kept
            # Atmos assigns these at each base level, set or not: the last base in merge order
            # decides, and one without them wipes an earlier base's (processBaseComponentConfigInternal)
            backend_type = section.get("backend_type") or ""
            remote_type = section.get("remote_state_backend_type") or ""
            command = section.get("command") or ""
        if self.appends and bases:
            inherited = {name: settle(layer, unset=False, clean=self._settled) for name, layer in inherited.items()}
            metadata = settle(metadata, unset=False, clean=self._settled)
        overrides = own.get("overrides") or _EMPTY
        get = inherited.get
        return ComponentPlan(
            vars=Tail(strategy, get("vars"), own.get("vars"), overrides.get("vars")),
            base_vars=get("vars"),
            settings=Tail(strategy, get("settings"), own.get("settings"), overrides.get("settings")),
            env=Tail(strategy, get("env"), own.get("env"), overrides.get("env")),
            providers=Tail(strategy, get("providers"), own.get("providers"), overrides.get("providers")),
            # the bases' metadata (not `inherits`/`type`), then its own
            metadata=Tail(strategy, metadata, own.get("metadata")),
            dependencies=Tail(strategy, get("dependencies"), own.get("dependencies")),
            backend=Tail(strategy, get("backend"), own.get("backend")),
            remote_state_backend=Tail(strategy, get("remote_state_backend"), own.get("remote_state_backend")),
            backend_type=own.get("backend_type") or backend_type,
            remote_state_backend_type=own.get("remote_state_backend_type") or remote_type,
            command=overrides.get("command") or own.get("command") or command,
            required_providers=_tail(strategy, get("required_providers"), own.get("required_providers"),
                                     overrides.get("required_providers")),
            generate=_tail(strategy, get("generate"), own.get("generate"), overrides.get("generate")),
            auth=_tail(strategy, get("auth"), own.get("auth"), overrides.get("auth")),
            hooks=_tail(strategy, get("hooks"), own.get("hooks"), overrides.get("hooks")),
            # no overrides for these two (Atmos' processComponentOverrides has none)
            source=_tail(strategy, get("source"), source_section(own.get("source"))),
            provision=_tail(strategy, get("provision"), own.get("provision")),
            required_version=(overrides.get("required_version") or own.get("required_version")
                              or required_version),
            locals=_tail(strategy, get("locals"), own.get("locals")),
        )


def vars_over_bases(plan: ComponentPlan, own: dict[str, Any]) -> Tail:
    """The vars layers of `plan` with `own`'s vars in place of those of the section it was built from.

    For a section that differs from that one in its vars only (all else the same objects): a stack
    manifest that sets a catalog component's vars gets a section of its own, which shares the rest
    of the plan with every other stack's.
    """
    overrides = own.get("overrides") or _EMPTY
    return Tail(plan.vars.strategy, plan.base_vars, own.get("vars"), overrides.get("vars"))


_NO_LAYERS = Tail("replace")  # what every section nobody sets merges to: whatever lies below it


def _tail(strategy: str, *layers: dict[str, Any] | None) -> Tail:
    """`Tail(strategy, *layers)`, the shared empty one when no layer is set (most components set
    none of the reported sections)."""
    return Tail(strategy, *layers) if any(layers) else _NO_LAYERS


def source_section(value: Any) -> dict[str, Any]:
    """A component's `source` as a map: Atmos reads `source: URI` as `source: {uri: URI}`."""
    if isinstance(value, str):
        return {"uri": value} if value else _EMPTY
    return value or _EMPTY
