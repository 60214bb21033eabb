"""The `stackflow` command line.

Each command group lives in its own module with a `register(subparsers)` function; handlers
return the exit code. Errors are printed as one line and exit non-zero (2 bad input, 1 a failed
run); `--debug` shows the traceback. Prefect is imported only by commands that run flows.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from stackflow import __version__
from stackflow.errors import ConfigError, StackflowError

from . import approvals, deploy, describe, locks, runs


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command, exit 2."""

    def error(self, message: str) -> NoReturn:
        prefix = "" if self.prog == "stackflow" else f"{self.prog}: "
        raise ConfigError(prefix + message)


COMMAND_GROUPS = (describe, deploy, runs, approvals, locks)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="stackflow", description="Plan and apply Atmos-style Terraform stacks "
                    "in dependency order on Prefect.")
    parser.add_argument("--version", action="version", version=f"stackflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except StackflowError as exc:
        if debug:
            raise
        message = " ".join(str(exc).split("\n"))
        print(f"stackflow: error: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stackflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `stackflow runs list | head`: the reader left; say nothing more, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
