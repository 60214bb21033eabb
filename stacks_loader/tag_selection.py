"""`--tags` / `--labels`: narrow a run to instances by their metadata, as Atmos' bulk selection (1.223).

Tags match when an instance has any of them (`metadata.tags`), labels when it has every one
(`metadata.labels`, `key=value` or `key:value`); both given, both must match. The filter is one
more pass over whatever the selection chose (`--all`, `--stack`, a change with its dependents):
it keeps the matching instances and the edges between them, as Atmos' `filterGraphByTagsAndLabels`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from stackflow.errors import ConfigError

from .metadata_reads import metadata_labels, metadata_tags
from .model import StackInstance

if TYPE_CHECKING:
    from .selection import DeployTarget


@dataclass(frozen=True)
class TagFilter:
    """What `--tags` / `--labels` ask for; empty matches everything."""

    tags: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tags or self.labels)

    def matches(self, inst: StackInstance) -> bool:
        if self.tags and not set(self.tags).intersection(metadata_tags(inst.metadata)):
            return False
        if self.labels:
            labels = metadata_labels(inst.metadata)
            return all(labels.get(key) == value for key, value in self.labels.items())
        return True

    def describe(self) -> str:
        parts = [f"--tags {','.join(self.tags)}"] if self.tags else []
        if self.labels:
            parts.append("--labels " + ",".join(f"{k}={v}" for k, v in self.labels.items()))
        return " ".join(parts)


def parse_tag_filter(tags: Iterable[str] | None, labels: Iterable[str] | None) -> TagFilter:
    """The filter from `--tags a,b` / `--labels k=v,k2:v2` (each repeatable); a bad label is a ConfigError."""
    tag_list = [part.strip() for value in tags or () for part in value.split(",") if part.strip()]
    label_map: dict[str, str] = {}
    for value in labels or ():
        for pair in value.split(","):
            pair = pair.strip()
            if not pair:
                continue
            cut = min((i for i in (pair.find("="), pair.find(":")) if i >= 0), default=-1)
            key = pair[:cut].strip() if cut >= 0 else ""
            if not key:
                raise ConfigError(f"--labels {pair!r}: expected key=value or key:value")
            label_map[key] = pair[cut + 1:].strip()
    return TagFilter(tuple(dict.fromkeys(tag_list)), label_map)


def narrow_target(target: DeployTarget, tag_filter: TagFilter) -> DeployTarget:
    """`target` cut to the instances `tag_filter` matches; an error when none of them does."""
    if not tag_filter:
        return target
    selected = list(target.graph.nodes)
    kept = [ref for ref in selected if tag_filter.matches(target.instances[ref])]
    if selected and not kept:
        raise ConfigError(f"{tag_filter.describe()}: none of the {len(selected)} selected instance(s) matches "
                          "(tags: any of them in metadata.tags; labels: every one in metadata.labels)")
    return replace(target, graph=target.graph.subgraph(kept))
