"""The `stackflow` command line.

Errors are printed as one line and exit non-zero (2 bad input, 1 a failed run); `--debug` shows
the traceback. Prefect is imported only by commands that run flows, so `describe` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from stackflow import __version__
from stackflow.errors import ConfigError, StackflowError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command, exit 2."""

    def error(self, message: str) -> NoReturn:
        prefix = "" if self.prog == "stackflow" else f"{self.prog}: "
        raise ConfigError(prefix + message)


def _add_repo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", help="path of the Atmos-style repo (default: .)")


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", dest="all_instances", help="every deployable instance")
    p.add_argument("--stack", "-s", action="append", default=[], metavar="STACK[/COMPONENT]",
                   help="a stack, an instance or a glob (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stackflow", description="Plan and apply Atmos-style Terraform stacks "
                     "in dependency order on Prefect.")
    parser.add_argument("--version", action="version", version=f"stackflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    describe = sub.add_parser("describe", help="show resolved stacks and their graph")
    dsub = describe.add_subparsers(dest="what", required=True, parser_class=_Parser)
    d_stacks = dsub.add_parser("stacks", help="every instance, resolved")
    _add_repo(d_stacks)
    d_stacks.add_argument("--format", choices=["json", "yaml", "text"], default="yaml")
    d_graph = dsub.add_parser("graph", help="the dependency graph")
    _add_repo(d_graph)
    d_graph.add_argument("--format", choices=["json", "mermaid", "dot", "text"], default="text")

    for name, help_text in (("deploy", "plan and apply instances in dependency order"),
                            ("plan", "deploy --mode plan (nothing is applied)")):
        p = sub.add_parser(name, help=help_text)
        _add_repo(p)
        _add_selection(p)
        if name == "deploy":
            p.add_argument("--mode", choices=["plan", "apply", "destroy"], default="apply")
            p.add_argument("--plan-only", action="store_true", help="same as --mode plan")
        p.add_argument("--parallelism", type=int, default=None, help="instances at once")
        p.add_argument("--fail-fast", action="store_true", help="start nothing new after a failure")
        p.add_argument("--format", choices=["text", "json"], default="text")
    return parser


def _emit(data: Any, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip())


def _cmd_describe(args: argparse.Namespace) -> int:
    from stackflow.settings import load_settings
    from stackflow.stacks_loader import describe
    from stackflow.stacks_loader.resolve import load_stacks

    settings = load_settings()
    stackset = load_stacks(Path(args.repo), settings.environ(), allow_exec=settings.allow_exec)
    for warning in stackset.warnings:
        print(f"stackflow: warning: {warning}", file=sys.stderr)
    if args.what == "stacks":
        data = describe.describe_stacks(stackset)
        if args.format == "text":
            for stack, doc in data.items():
                print(stack)
                for component in doc.get("components", {}).get("terraform", {}):
                    print(f"  {component}")
            return 0
        _emit(data, args.format)
        return 0
    graph = stackset.graph()
    if args.format == "json":
        _emit(describe.describe_graph(graph, stackset), "json")
    elif args.format == "mermaid":
        print(describe.graph_mermaid(graph))
    elif args.format == "dot":
        print(describe.graph_dot(graph))
    else:
        for level, refs in enumerate(graph.levels()):
            print(f"level {level}:")
            for ref in refs:
                parents = ", ".join(str(p) for p in graph.parents(ref))
                print(f"  {ref}" + (f"  ← {parents}" if parents else ""))
    return 0


def _cmd_deploy(args: argparse.Namespace) -> int:
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.outcome import StackOutcome
    from stackflow.stacks_loader.report import outcomes_text
    from stackflow.stacks_loader.selection import select_target

    mode = "plan" if args.command == "plan" or getattr(args, "plan_only", False) else args.mode
    if args.parallelism is not None and args.parallelism < 1:
        raise ConfigError(f"--parallelism {args.parallelism}: must be at least 1")
    settings = load_settings(parallelism=args.parallelism)
    repo = Path(args.repo).resolve()
    # Validate the whole graph and the selection before any flow run (or server) starts.
    target = select_target(repo, settings.environ(), args.stack,
                           all_instances=args.all_instances, allow_exec=settings.allow_exec)
    if len(target.graph) == 0:
        raise ConfigError("nothing to deploy: the selection has no deployable instances")

    from stackflow.flows.deploy import DeployFailed, deploy

    try:
        docs = deploy(repo=str(repo), stacks=args.stack, all_instances=args.all_instances,
                      mode=mode, parallelism=args.parallelism, fail_fast=args.fail_fast)
        outcomes = [StackOutcome.from_json(d) for d in docs]
        code = 0
    except DeployFailed as failed:
        outcomes = failed.outcomes
        code = 1
    if args.format == "json":
        print(json.dumps([o.to_json() for o in outcomes], indent=2))
    else:
        print(outcomes_text(outcomes))
        if code:
            print(f"stackflow: {sum(o.status == 'failed' for o in outcomes)} instance(s) failed",
                  file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command == "describe":
            return _cmd_describe(args)
        return _cmd_deploy(args)
    except StackflowError as exc:
        if debug:
            raise
        message = " ".join(str(exc).split("\n"))
        print(f"stackflow: error: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stackflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
