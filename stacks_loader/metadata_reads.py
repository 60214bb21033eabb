"""`!tags` / `!labels` / `!labels.keys` / `!labels.values`: an instance's metadata as values.

Atmos (`internal/exec/yaml_func_tags.go`, since 1.223) reads the component's merged `metadata`
once every other value is known: `tags` is its list of strings (other items dropped), `labels` its
map of string values (other values dropped); `.keys` and `.values` are the labels sorted by key.
A missing or mistyped `tags` / `labels` reads as empty, as there.
"""

from __future__ import annotations

from typing import Any

from .deferred_merge import DeferredMerge
from .yaml_functions import MetadataRead, holds_kind, replace_kind


def metadata_tags(metadata: dict[str, Any]) -> list[str]:
    """`metadata.tags` as Atmos reads it (`tags.ToStringSlice`): its strings; [] when not a list."""
    tags = metadata.get("tags")
    return [tag for tag in tags if type(tag) is str] if type(tags) is list else []


def metadata_labels(metadata: dict[str, Any]) -> dict[str, str]:
    """`metadata.labels` as Atmos reads it (`tags.ToStringMap`): its string values, by key."""
    labels = metadata.get("labels")
    return {key: value for key, value in sorted(labels.items()) if type(value) is str} if type(labels) is dict else {}


def metadata_value(read: MetadataRead, metadata: dict[str, Any]) -> Any:
    """What `read` gives for an instance whose merged metadata is `metadata` (a new container)."""
    if read.function == "tags":
        return metadata_tags(metadata)
    strings = metadata_labels(metadata)
    if read.function == "labels":
        return strings
    return list(strings) if read.function == "labels.keys" else list(strings.values())


def fill_metadata_reads(value: Any, metadata: dict[str, Any]) -> Any:
    """`value` with every `MetadataRead` in it replaced, inside `DeferredMerge`s too (copied along
    changed paths only)."""
    value = replace_kind(value, MetadataRead, lambda read: metadata_value(read, metadata))
    return replace_kind(value, DeferredMerge, lambda node: node.map(lambda item: fill_metadata_reads(item, metadata)))


def holds_metadata_read(value: Any) -> bool:
    """Whether a `MetadataRead` is anywhere in `value`."""
    return holds_kind(value, MetadataRead)
