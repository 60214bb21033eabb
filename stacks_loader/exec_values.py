"""`!exec` values: which commands an instance's vars need, and their output as Atmos reads it.

The loader keeps `!exec COMMAND` as an `ExecRef` (only when `!exec` is allowed); the shell layer
(`tasks/exec_commands.py`) runs each command as the instance starts and this module puts the
output in place, as Atmos' `ProcessTagExec` reads it: trailing newlines dropped (as `$(cmd)`
drops them), then the JSON value the text spells, else the text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import ExecRef
from .yaml_functions import fill_kind, find_kind


def exec_refs_in(vars_: Mapping[str, Any]) -> frozenset[ExecRef]:
    """The commands an instance's `vars` need (usually none)."""
    return frozenset(find_kind(dict(vars_), ExecRef))


def decode_exec_output(stdout: str) -> Any:
    """A command's output as Atmos reads it: without trailing newlines, JSON when it is JSON."""
    text = stdout.rstrip("\n")
    try:
        return json.loads(text)
    except ValueError:
        return text


def fill_exec(value: Any, values: Mapping[ExecRef, Any]) -> Any:
    """A copy of `value` (copied along changed paths) with every `ExecRef` replaced by its output."""
    return fill_kind(value, ExecRef, values, "the command was not run")
