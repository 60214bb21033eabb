"""Options several commands share, and output helpers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackflow.stacks_loader.outcome import StackOutcome

import yaml


def add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", help="path of the Atmos-style repo (default: .)")


_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _go_bool(text: str) -> bool:
    """A boolean as Go's strconv.ParseBool reads it (Atmos' flags are Go flags)."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (true or false)")


def add_go_bool(p: argparse.ArgumentParser, flag: str, help_text: str, default: bool = False) -> None:
    """A boolean flag that also takes Go's `--flag=true|false`, as Atmos' flags do."""
    p.add_argument(flag, nargs="?", const=True, default=default, type=_go_bool, metavar="BOOL", help=help_text)


def add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", dest="all_instances", help="every deployable instance")
    p.add_argument("--stack", "-s", action="append", default=[], metavar="STACK[/COMPONENT]",
                   help="a stack, an instance or a glob (repeatable)")
    p.add_argument("--tags", action="append", default=[], metavar="TAG[,TAG]",
                   help="only instances whose metadata.tags has any of these (with the selection or a change)")
    p.add_argument("--labels", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                   help="only instances whose metadata.labels has every one of these")


def emit(data: Any, fmt: str) -> None:
    """Print `data` as json or yaml."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
        # a lone scalar (a --query result) without PyYAML's document end marker, as Go's yaml prints it
        print(text.removesuffix("\n...\n").rstrip())


def print_outcomes(outcomes: list["StackOutcome"], fmt: str, failed: bool) -> None:
    """The outcomes as `deploy` prints them: a table (text) or the JSON contract."""
    from stackflow.stacks_loader.report import outcomes_text

    if fmt == "json":
        print(json.dumps([o.to_json() for o in outcomes], indent=2))
        return
    print(outcomes_text(outcomes))
    if failed:
        print(f"stackflow: {sum(o.status == 'failed' for o in outcomes)} instance(s) failed",
              file=sys.stderr)
