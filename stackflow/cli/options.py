"""Options several commands share, and output helpers."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml


def add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", help="path of the Atmos-style repo (default: .)")


def add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", dest="all_instances", help="every deployable instance")
    p.add_argument("--stack", "-s", action="append", default=[], metavar="STACK[/COMPONENT]",
                   help="a stack, an instance or a glob (repeatable)")


def emit(data: Any, fmt: str) -> None:
    """Print `data` as json or yaml."""
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())
