"""`settings.yaml.key_delimiter`: dotted keys in stack manifests as nested maps (Atmos 1.221).

As Atmos' `pkg/yaml/expand`, on the parsed YAML nodes before anything is built from them: an
unquoted key holding the delimiter (not at either end, no empty part) becomes nested maps
(`metadata.component: vpc` is `metadata: {component: vpc}`); the parts are strings. A key met
again in the same map merges into it when both values are maps, else the later value replaces
the earlier one (with a delimiter set, Atmos applies that to every map, so a repeated key is not
an error there). Quoted keys stay as written: that is how a literal dot is kept.
"""

from __future__ import annotations

import yaml

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"


def expand_key_delimiters(node: yaml.Node, delimiter: str) -> None:
    """Rewrite the maps under `node` in place."""
    seen: set[int] = set()
    pending = [node]
    order: list[yaml.MappingNode] = []
    while pending:  # values before the maps holding them, as Atmos recurses
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            order.append(current)
            pending.extend(value for _, value in current.value)
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
    for mapping in reversed(order):
        _expand_mapping(mapping, delimiter)


def _expandable(key: yaml.Node, delimiter: str) -> bool:
    if not isinstance(key, yaml.ScalarNode) or key.style in ("'", '"'):
        return False
    text = key.value
    return delimiter in text and all(text.split(delimiter))


def _expand_mapping(mapping: yaml.MappingNode, delimiter: str) -> None:
    content: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in mapping.value:
        if _expandable(key, delimiter):
            parts = key.value.split(delimiter)
            for part in reversed(parts[1:]):
                inner = yaml.ScalarNode(_STR, part, key.start_mark, key.end_mark)
                value = yaml.MappingNode(_MAP, [(inner, value)], key.start_mark, key.end_mark)
            key = yaml.ScalarNode(_STR, parts[0], key.start_mark, key.end_mark)
        _merge_into(content, key, value)
    mapping.value = content


def _merge_into(content: list[tuple[yaml.Node, yaml.Node]], key: yaml.Node, value: yaml.Node) -> None:
    for index, (existing_key, existing_value) in enumerate(content):
        if isinstance(existing_key, yaml.ScalarNode) and isinstance(key, yaml.ScalarNode) \
                and existing_key.value == key.value:
            if isinstance(existing_value, yaml.MappingNode) and isinstance(value, yaml.MappingNode):
                for sub_key, sub_value in value.value:
                    _merge_into(existing_value.value, sub_key, sub_value)
            else:
                content[index] = (existing_key, value)
            return
    content.append((key, value))
