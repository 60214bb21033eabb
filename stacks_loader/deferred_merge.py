"""YAML functions merged after they are resolved, as Atmos does since 1.226 (`pkg/merge/merge_yaml_functions.go`).

When a component's section is merged from its four layers (the stack's globals, its bases, its
own, its file's `overrides`), a post-merge YAML function (`!template`, `!env`, `!terraform.output`,
`!terraform.state`, `!store`, `!store.get`, `!exec`, `!tags`, `!labels`…) does not simply win or
lose against a value at the same key path in another layer: Atmos resolves it, then merges every
layer's value at that path in precedence order (`MergeDeferredValues`):

- the lowest value a map: the maps deep-merged (lists replaced); the first non-map above it wins whole;
- the lowest value a list: `list_merge_strategy` (`replace`: the highest; `append`: the lists
  concatenated, other values skipped; `merge`: item by item);
- otherwise the highest value wins.

A null value takes no part, so a null above a function does not remove it. Paths are walked
through maps only (not lists) and set shallowest first.

`plan_deferred_merges` finds such paths in a section's layers and puts a `DeferredMerge` there;
the per-instance passes resolve the functions inside it like any value; `settle_deferred_merges`
then merges. A value known only when the instance runs (`!terraform.output`, `!store`, `!exec`)
whose type would change the result cannot be merged at load time: that is a one-line error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from stackflow.errors import ConfigError

from .component_outputs import PendingTemplate
from .merge import merge
from .model import ExecRef, StoreRef, TerraformOutputRef, TerraformOutputText
from .yaml_functions import EnvFunction, MetadataRead, TemplateText, TerraformFunction, holds_kind, replace_kind

# Atmos' `postMergeFunctions` (`!secret` and `!aws.*` are not among them: they merge as any value)
_POST_MERGE = (EnvFunction, TemplateText, TerraformFunction, ExecRef, MetadataRead)
# the sections Atmos merges this way (`ComponentDeferredContexts`)
DEFERRED_MERGE_SECTIONS = ("vars", "settings", "env", "providers", "auth", "required_providers", "hooks", "generate")


def is_post_merge(value: Any) -> bool:
    """Whether `value` is a YAML function Atmos resolves after the merge."""
    if isinstance(value, _POST_MERGE):
        return True
    return isinstance(value, StoreRef) and value.function != "secret"


@dataclass(slots=True)
class DeferredMerge:
    """Every layer's value at one key path, lowest precedence first, to merge once resolved.

    `nested`: deeper deferred paths (relative), set into the merged value afterwards.
    """

    values: list[Any]
    strategy: str
    path: str  # `vars.tags`, for errors
    nested: list[tuple[tuple[Any, ...], DeferredMerge]] = field(default_factory=list)

    def map(self, resolve: Any) -> DeferredMerge:
        """A copy with `resolve(value)` applied to every value (nested ones too); itself when none changes."""
        values = [resolve(value) for value in self.values]
        nested = [(rel, node.map(resolve)) for rel, node in self.nested]
        if all(new is old for new, old in zip(values, self.values)) and all(
            new[1] is old[1] for new, old in zip(nested, self.nested)
        ):
            return self
        return DeferredMerge(values, self.strategy, self.path, nested)


_NO_PATHS: list[tuple[tuple[Any, ...], Any]] = []


def function_paths(layer: dict[Any, Any], cache: dict[int, Any]) -> list[tuple[tuple[Any, ...], Any]]:
    """Where `layer` holds post-merge functions (through maps only), remembered by identity."""
    known = cache.get(id(layer))
    if known is not None and known[0] is layer:
        return known[1]
    found: list[tuple[tuple[Any, ...], Any]] = []
    stack: list[tuple[tuple[Any, ...], dict[Any, Any]]] = [((), layer)]
    while stack:
        prefix, node = stack.pop()
        for key, value in node.items():
            if type(value) is dict:
                stack.append(((*prefix, key), value))
            elif is_post_merge(value):
                found.append(((*prefix, key), value))
    result = found or _NO_PATHS
    cache[id(layer)] = (layer, result)  # the reference keeps the id from being reused
    return result


def value_at(layer: dict[Any, Any], path: tuple[Any, ...]) -> Any:
    node: Any = layer
    for key in path:
        if type(node) is not dict or key not in node:
            return None
        node = node[key]
    return node


def _placeholders(value: Any, deferred: set[tuple[Any, ...]], path: tuple[Any, ...]) -> Any:
    """`value` (at `path`) with the post-merge functions below it as null, as Atmos' walked layers hold them."""
    if type(value) is not dict:
        return value
    out = None
    for key, item in value.items():
        sub = (*path, key)
        new = None if sub in deferred else _placeholders(item, deferred, sub)
        if new is not item:
            if out is None:
                out = dict(value)
            out[key] = new
    return value if out is None else out


def plan_deferred_merges(
    section: str,
    merged: dict[str, Any],
    layers: Sequence[dict[str, Any] | None],
    strategy: str,
    cache: dict[int, Any],
) -> dict[str, Any]:
    """`merged` (the section's plain merge of `layers`, lowest first) with a `DeferredMerge` at each
    path where Atmos would merge a function's value; `merged` itself when there is none."""
    present = [layer for layer in layers if layer]
    by_path: dict[tuple[Any, ...], dict[int, Any]] = {}
    for index, layer in enumerate(present):
        for path, function in function_paths(layer, cache):
            by_path.setdefault(path, {})[index] = function
    if not by_path:
        return merged
    deferred = set(by_path)
    nodes: dict[tuple[Any, ...], DeferredMerge] = {}
    for path in sorted(by_path, key=len):
        functions = by_path[path]
        values: list[Any] = []
        for index, layer in enumerate(present):
            if index in functions:
                values.append(functions[index])
            else:
                value = value_at(layer, path)
                if value is not None:
                    values.append(_placeholders(value, deferred, path))
        if len(values) == 1 and value_at(merged, path) is values[0] and not any(
            path[:n] in nodes for n in range(1, len(path))
        ):
            continue  # the function alone, where the plain merge put it: nothing to merge
        nodes[path] = DeferredMerge(values, strategy, ".".join(map(str, (section, *path))))
    if not nodes:
        return merged
    result = merged
    for path, node in nodes.items():  # shallowest first: a deeper one goes into the node above it
        parent = next((path[:n] for n in range(len(path) - 1, 0, -1) if path[:n] in nodes), None)
        if parent is not None:
            nodes[parent].nested.append((path[len(parent):], node))
        else:
            result = _set_at(result, path, node, f"{section}.{'.'.join(map(str, path))}")
    return result


def _set_at(data: dict[Any, Any], path: tuple[Any, ...], value: Any, where: str) -> dict[Any, Any]:
    """A copy of `data` (copied along `path` only) with `value` at `path`; maps are made where
    missing. A non-map on the way is Atmos' "cannot navigate path" error."""
    head, rest = path[0], path[1:]
    out = dict(data)
    if not rest:
        out[head] = value
        return out
    below = data.get(head)
    if below is None and head not in data:
        below = {}
    if type(below) is not dict:
        raise ConfigError(f"{where}: a YAML function sets this key, but another layer makes "
                          f"{where.rsplit('.', len(rest))[0]} a {type(below).__name__}, not a map (Atmos: cannot navigate path)")
    out[head] = _set_at(below, rest, value, where)
    return out


# run-time values: their type is known only when the instance runs
_RUNTIME = (TerraformOutputRef, StoreRef, ExecRef, PendingTemplate)


def _is_runtime(value: Any) -> bool:
    if isinstance(value, TerraformOutputText):
        return value.read_back  # read back as YAML: any type; else text
    return isinstance(value, _RUNTIME)


class _Undeterminable(Exception):
    pass


@dataclass(frozen=True)
class _Whole:
    index: int  # the merge gives this run-time value whole


class _Probe:
    """Stands for a run-time value of unknown type while the merge is tried with each type."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def settle_deferred_merges(value: Any, where: str) -> Any:
    """`value` with every `DeferredMerge` in it merged (containers copied along changed paths)."""
    return replace_kind(value, DeferredMerge, lambda node: _settle(node, where))


def _settle(node: DeferredMerge, where: str) -> Any:
    values = [settle_deferred_merges(value, where) for value in node.values]
    result = _merge_values(values, node, where)
    for rel, child in node.nested:
        if type(result) is not dict:
            raise ConfigError(f"{where}: {node.path}.{'.'.join(map(str, rel))}: a YAML function sets this key, but "
                              f"{node.path} merges to a {type(result).__name__}, not a map (Atmos: cannot navigate path)")
        result = _set_at(result, rel, _settle(child, where), f"{node.path}.{'.'.join(map(str, rel))}")
    return result


def _merge_values(values: list[Any], node: DeferredMerge, where: str) -> Any:
    runtime = [index for index, value in enumerate(values) if _is_runtime(value)]
    if not runtime:
        try:
            return merge_deferred_values(values, node.strategy)
        except _Undeterminable:
            pass
    else:
        outcomes: list[Any] = []
        try:
            for shapes in product(("scalar", "map", "list"), repeat=len(runtime)):
                tried = list(values)
                for index, shape in zip(runtime, shapes):
                    probe = _Probe(values[index])
                    tried[index] = probe if shape == "scalar" else {"": probe} if shape == "map" else [probe]
                outcome = merge_deferred_values(tried, node.strategy)
                whole = [index for index in runtime if outcome is tried[index]]
                if whole:  # one run-time value itself, whatever it turns out to be
                    outcomes.append(_Whole(whole[0]))
                elif holds_kind(outcome, _Probe):
                    raise _Undeterminable
                else:
                    outcomes.append(outcome)
        except _Undeterminable:
            outcomes = []
        if outcomes and all(outcome == outcomes[0] for outcome in outcomes):
            first = outcomes[0]
            return values[first.index] if type(first) is _Whole else first
    kinds = ", ".join(_kind(value) for value in values)
    raise ConfigError(
        f"{where}: {node.path}: Atmos merges the values set for it in several layers ({kinds}, lowest first) once "
        "they are resolved; a value known only when the instance runs makes that merge depend on its type, so "
        "stackflow cannot resolve it before the run (set the value in one layer, or make the others scalars)"
    )


def _kind(value: Any) -> str:
    if _is_runtime(value):
        return str(value.text if isinstance(value, PendingTemplate) else value)
    return {dict: "a map", list: "a list"}.get(type(value), "a scalar")


def merge_deferred_values(values: list[Any], strategy: str) -> Any:
    """Atmos' `MergeDeferredValues`: one path's resolved values, lowest precedence first."""
    first = values[0]
    if type(first) is dict:
        result = first
        for value in values[1:]:
            if type(value) is not dict:
                return value  # the type changed: this one, whole (the ones above it are not looked at)
            result = _mergo(result, value)
        return result
    if isinstance(first, list):
        if strategy == "append":
            return [item for value in values if isinstance(value, list) for item in value]
        if strategy == "merge":
            result = list(first)
            for value in values[1:]:
                if not isinstance(value, list):
                    return value
                for index, item in enumerate(value):
                    if index < len(result):
                        result[index] = _mergo(result[index], item) if type(item) is dict and type(
                            result[index]) is dict else item
                    else:
                        result.append(item)
            return result
        return values[-1]
    return values[-1]


def _mergo(lower: dict[Any, Any], higher: dict[Any, Any]) -> dict[Any, Any]:
    """`mergo.Merge(&lower, higher, mergo.WithOverride)` on maps: maps merge, anything else replaces."""
    _check_known(lower, higher)
    return merge(lower, higher, "replace")


def _check_known(lower: dict[Any, Any], higher: dict[Any, Any]) -> None:
    """`_Undeterminable` when a run-time value meets a map at the same key (at run time it may be one)."""
    for key, value in higher.items():
        if key not in lower:
            continue
        below = lower[key]
        if type(value) is dict and type(below) is dict:
            _check_known(below, value)
        elif (type(value) is dict and _unknown(below)) or (_unknown(value) and type(below) is dict):
            raise _Undeterminable


def _unknown(value: Any) -> bool:
    """A value whose type is known only at run time (or stands for one while trying each type)."""
    return type(value) is _Probe or _is_runtime(value)
