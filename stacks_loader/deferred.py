"""Filling deferred `!terraform.output` / `!terraform.state` values from parents' real outputs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from stackflow.errors import ConfigError

from .manifests import parse_value
from .model import InstanceRef, TerraformOutputRef, TerraformOutputText
from .template_functions import FUNCTIONS
from .templates import TemplateError, format_value

# one step of a yq path: `.key`, `[0]`, `["key"]` (also read by stores.py for `| query`)
PATH_STEP = re.compile(r"""\.([A-Za-z_][\w-]*)|\[(-?\d+)\]|\[["']([^"']*)["']\]""")


def deferred_refs(value: Any) -> list[TerraformOutputRef]:
    """Every deferred reference inside a (nested) value."""
    found: list[TerraformOutputRef] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, TerraformOutputRef):
            found.append(item)
        elif isinstance(item, TerraformOutputText):
            stack.extend(part for part in item.parts if isinstance(part, TerraformOutputRef))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def _walk_path(value: Any, path: str, ref: TerraformOutputRef) -> Any:
    pos = 0
    while pos < len(path):
        match = PATH_STEP.match(path, pos)
        if not match:
            raise ConfigError(f"{ref.source_file}: {ref}: cannot read path {path!r} at {path[pos:]!r}")
        key, index, quoted = match.groups()
        try:
            if index is not None:
                value = value[int(index)]
            else:
                value = value[key if key is not None else quoted]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"{ref.source_file}: {ref}: {path!r} not found in the output") from None
        pos = match.end()
    return value


def _output(ref: TerraformOutputRef, outputs: Mapping[InstanceRef, Mapping[str, Any]], dependent: str) -> Any:
    parent_outputs = outputs.get(ref.parent)
    if parent_outputs is None:
        raise ConfigError(f"{dependent}: {ref}: outputs of {ref.parent} are not available")
    if not ref.output:  # `.`: every output, as a map
        return _walk_path(dict(parent_outputs), ref.path, ref)
    if ref.output not in parent_outputs:
        raise ConfigError(f"{dependent}: {ref}: {ref.parent} has no output {ref.output!r}")
    return _walk_path(parent_outputs[ref.output], ref.path, ref)


def _found(ref: TerraformOutputRef, outputs: Mapping[InstanceRef, Mapping[str, Any]], dependent: str) -> Any:
    """The output `ref` reads, or its yq `// default` (missing, null or false)."""
    try:
        found = _output(ref, outputs, dependent)
    except ConfigError:
        if ref.default is None:
            raise
        return json.loads(ref.default)  # a fresh copy: the caller may change it
    if ref.default is not None and (found is None or found is False):  # yq's `//`
        return json.loads(ref.default)
    return found


def fill_deferred(
    value: Any, outputs: Mapping[InstanceRef, Mapping[str, Any]], *, dependent: str = ""
) -> Any:
    """A copy of `value` with every deferred reference replaced by the parent's output."""
    if isinstance(value, TerraformOutputRef):
        found = _found(value, outputs, dependent)
        if value.encoding:  # the JSON text a template printed of it, as Sprig's encoder writes it
            return FUNCTIONS[value.encoding](*value.encoding_args, found)
        return found
    if isinstance(value, TerraformOutputText):
        text = "".join(part if isinstance(part, str) else _printed(part, outputs, dependent) for part in value.parts)
        if not value.read_back:
            return text
        try:
            return parse_value(text)
        except ValueError as exc:
            raise ConfigError(f"{dependent}: {value}: prints {text!r}, which is read back as YAML: {exc}") from None
    if isinstance(value, dict):
        return {k: fill_deferred(v, outputs, dependent=dependent) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_deferred(v, outputs, dependent=dependent) for v in value]
    return value


def _printed(ref: TerraformOutputRef, outputs: Mapping[InstanceRef, Mapping[str, Any]], dependent: str) -> str:
    """An output printed into text as Go prints it; a map, list or null cannot be."""
    value = fill_deferred(ref, outputs, dependent=dependent)
    try:
        return format_value(value, str(ref))
    except TemplateError:
        what = "null" if value is None else type(value).__name__
        raise ConfigError(f"{dependent}: {ref}: the output is {what}, which cannot be printed into text "
                          "(use it as a whole value)") from None
