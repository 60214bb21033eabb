"""Deep merge as Atmos does it (`pkg/merge`), without copying.

Later layers win; maps merge key by key; a value of another type (or null) replaces. Lists follow
`list_merge_strategy`: `replace` (default), `append` (earlier + later) or `merge` (element-wise:
maps at the same index merge, otherwise the earlier element stays, the longer tail is kept).

Parsed manifests are never mutated, so a result shares every subtree it did not change with its
inputs: merging is proportional to the overlap, not to the size of the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_MISSING = object()
_EMPTY: dict[str, Any] = {}


def merge(lower: dict[str, Any], higher: dict[str, Any], strategy: str = "replace") -> dict[str, Any]:
    """`higher` deep-merged over `lower`; neither input is modified."""
    if not higher:
        return lower
    if not lower:
        return higher
    result = dict(lower)
    for key, value in higher.items():
        old = result.get(key, _MISSING)
        if old is not _MISSING:
            if type(value) is dict and type(old) is dict:
                result[key] = merge(old, value, strategy)
                continue
            if strategy != "replace" and type(value) is list and type(old) is list:
                result[key] = old + value if strategy == "append" else _merge_lists(old, value, strategy)
                continue
        result[key] = value
    return result


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
