"""Deep merge as Atmos does it (`pkg/merge`), without copying.

Later layers win; maps merge key by key; a value of another type (or null) replaces. Lists follow
`list_merge_strategy`: `replace` (default), `append` (earlier + later) or `merge` (element-wise:
maps at the same index merge, otherwise the earlier element stays, the longer tail is kept).
An `!append` list (`AppendList`) is appended to the list below it whatever the strategy.

Parsed manifests are never mutated, so a result shares every subtree it did not change with its
inputs: merging is proportional to the overlap, not to the size of the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .yaml_functions import AppendList

_MISSING = object()
_DEEP = frozenset({dict, list, AppendList})  # the values `merge` looks into
_EMPTY: dict[str, Any] = {}


def merge(lower: dict[str, Any], higher: dict[str, Any], strategy: str = "replace") -> dict[str, Any]:
    """`higher` deep-merged over `lower`; neither input is modified."""
    if not higher:
        return lower
    if not lower:
        return higher
    result = {**lower, **higher}  # `lower`'s keys in place, `higher`'s new ones after, in C
    if len(result) == len(lower) + len(higher):
        return result  # no key in both: nothing to merge deeper
    for key, value in higher.items():
        kind = type(value)
        if kind in _DEEP:  # one lookup: most values are scalars
            if kind is dict:
                old = lower.get(key, _MISSING)
                if type(old) is dict:
                    result[key] = merge(old, value, strategy)
            elif kind is list:
                if strategy != "replace":
                    old = lower.get(key, _MISSING)
                    below = type(old)
                    if below is list or below is AppendList:  # one with nothing below it is a list
                        result[key] = old + value if strategy == "append" else _merge_lists(old, value, strategy)
            else:  # an `!append` list
                old = lower.get(key, _MISSING)
                if old is not _MISSING:
                    result[key] = _appended(old, value)
    return result


def _appended(lower: Any, higher: AppendList) -> list[Any]:
    """An `!append` list over `lower` (Atmos' processAppendList): lower's items then its own.

    Over an `!append` list that had nothing below it, still one (so a merge grouped differently,
    as `Tail` does, appends both to what lies below them); over a non-list, a plain list.
    """
    kind = type(lower)
    if kind is list:
        return lower + higher  # a plain list
    if kind is AppendList:
        return AppendList(lower + higher)
    return list(higher)


def merge_all(layers: Iterable[dict[str, Any] | None], strategy: str = "replace") -> dict[str, Any]:
    """Merge layers from lowest to highest precedence; empty or missing layers are skipped."""
    result: dict[str, Any] = _EMPTY
    for layer in layers:
        if layer:
            result = merge(result, layer, strategy) if result else layer
    return result if result is not _EMPTY else {}


def merge_layers(strategy: str, *layers: dict[str, Any] | None) -> dict[str, Any]:
    """`merge_all` for a few layers given as arguments (the hot path of instance resolution).

    Like every merge result, the returned dict may be shared: copy it before changing it.
    """
    result = None
    for layer in layers:
        if layer:
            result = merge(result, layer, strategy) if result else layer
    return result if result is not None else _EMPTY


def _merge_lists(lower: list[Any], higher: list[Any], strategy: str) -> list[Any]:
    result = list(lower)
    for index, value in enumerate(higher):
        if index >= len(lower):
            result.append(value)
        elif type(value) is dict and type(lower[index]) is dict:
            result[index] = merge(lower[index], value, strategy)
    return result


class Tail:
    """The upper layers of a merge, prepared once to go over many different lowest layers.

    Deep merge is not associative in general: a map over a scalar replaces it, so
    `(lowest + a) + b` can differ from `lowest + (a + b)` when `b` puts a map where `a` put a
    scalar (the lowest layer's map is cut off on the left, merged on the right); with `append`,
    likewise for a list over a non-list. When no layer of the tail does that, the tail is merged
    once and each lowest layer costs one merge; otherwise every layer is folded each time.
    An `!append` list with nothing below it in the tail stays an `AppendList`, so it still
    appends to the lowest layer's list; over a non-list it is a list (with `append`, a cut).
    """

    __slots__ = ("layers", "merged", "strategy")

    def __init__(self, strategy: str, *layers: dict[str, Any] | None) -> None:
        self.strategy = strategy
        self.layers = present = tuple([layer for layer in layers if layer])
        merged: dict[str, Any] | None = present[0] if len(present) == 1 else _EMPTY
        if len(present) > 1:
            if strategy in ("replace", "append"):
                for layer in present:
                    if merged and _cuts(merged, layer, strategy == "append"):
                        merged = None
                        break
                    merged = merge(merged, layer, strategy) if merged else layer
            else:
                merged = None
        self.merged = merged

    def read_over(self, lowest: dict[str, Any] | None) -> dict[str, Any]:
        """`merge_all([lowest, *layers])`, possibly one of the layers itself: read it, never change it."""
        tail = self.merged
        if tail is not None:
            if not lowest:
                return tail
            return merge(lowest, tail, self.strategy) if tail else lowest
        return merge_layers(self.strategy, lowest, *self.layers)

    def over(self, lowest: dict[str, Any] | None) -> dict[str, Any]:
        """`merge_all([lowest, *layers])` as a new dict the caller owns (nested values are shared)."""
        tail = self.merged
        if tail is not None:
            if not lowest:
                return dict(tail)
            return merge(lowest, tail, self.strategy) if tail else dict(lowest)
        result = lowest or _EMPTY
        fresh = False
        for layer in self.layers:
            if result:
                result, fresh = merge(result, layer, self.strategy), True
            else:
                result = layer
        return result if fresh else dict(result)


def _cuts(lower: dict[str, Any], higher: dict[str, Any], lists: bool) -> bool:
    """Whether `higher` puts a map on a non-map of `lower` (with `lists`, a list on a non-list:
    an `!append` list too, as it is then a plain list that the `append` strategy would append)."""
    for key, value in higher.items():
        kind = type(value)
        if kind is dict:
            old = lower.get(key, _MISSING)
            if old is not _MISSING and (type(old) is not dict or _cuts(old, value, lists)):
                return True
        elif lists and (kind is list or kind is AppendList):
            old = lower.get(key, _MISSING)
            if old is not _MISSING and not isinstance(old, list):
                return True
    return False
