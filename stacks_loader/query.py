"""The `.a.b[0]` subset of yq expressions: what `describe … --query` and `!include path query` take."""

from __future__ import annotations

import re
from typing import Any

# steps: .key, [0], and a quoted key as yq writes one with other characters: ["a.b"], ."a.b"
_STEP_TEXT = r'\.([\w-]+)|\.?\[(\d+)\]|\.?\["([^"]*)"\]|\."([^"]*)"'
# `.` alone is the whole value; otherwise the first step starts with a dot (`[0]` alone is a list
# literal to yq, `..` its recursive descent)
_PATH = re.compile(rf"\.|(?=\.)(?:{_STEP_TEXT})+")
_STEP = re.compile(_STEP_TEXT)


class QueryError(ValueError):
    """An expression outside the subset."""


def path_steps(query: str) -> list[str | int]:
    """The keys and indexes of `query` (`.vars.ids[0]` → ["vars", "ids", 0]); `.` alone is []."""
    if not _PATH.fullmatch(query):
        raise QueryError(f"query {query!r} is not supported (only .key, [\"key\"] and [index] steps, as .vars.subnets[0])")
    steps: list[str | int] = []
    for key, index, bracketed, quoted in _STEP.findall(query):
        steps.append(int(index) if index else key or bracketed or quoted)
    return steps


def select(value: Any, query: str, *, missing: Any = None) -> Any:
    """The value at `query`; `missing` (yq's null) where a key or index is not there."""
    for step in path_steps(query):
        found = (isinstance(step, str) and isinstance(value, dict) and step in value) or (
            isinstance(step, int) and isinstance(value, list) and step < len(value))
        if not found:
            return missing
        value = value[step]
    return value
