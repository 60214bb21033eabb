"""`stackflow describe stacks|graph`: resolved instances and their dependency graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import add_repo, emit


def register(sub: argparse._SubParsersAction) -> None:
    describe = sub.add_parser("describe", help="show resolved stacks and their graph")
    dsub = describe.add_subparsers(dest="what", required=True, parser_class=type(describe))
    d_stacks = dsub.add_parser("stacks", help="every instance, resolved")
    add_repo(d_stacks)
    d_stacks.add_argument("--format", choices=["json", "yaml", "text"], default="yaml")
    d_stacks.set_defaults(handler=describe_stacks)
    d_graph = dsub.add_parser("graph", help="the dependency graph")
    add_repo(d_graph)
    d_graph.add_argument("--format", choices=["json", "mermaid", "dot", "text"], default="text")
    d_graph.set_defaults(handler=describe_graph)


def _load(args: argparse.Namespace):
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.resolve import load_stacks

    settings = load_settings()
    stackset = load_stacks(Path(args.repo), settings.environ(), allow_exec=settings.allow_exec)
    for warning in stackset.warnings:
        print(f"stackflow: warning: {warning}", file=sys.stderr)
    return stackset


def describe_stacks(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader import describe

    data = describe.describe_stacks(_load(args))
    if args.format == "text":
        for stack, doc in data.items():
            print(stack)
            for component in doc.get("components", {}).get("terraform", {}):
                print(f"  {component}")
        return 0
    emit(data, args.format)
    return 0


def describe_graph(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader import describe

    stackset = _load(args)
    graph = stackset.graph()
    if args.format == "json":
        emit(describe.describe_graph(graph, stackset), "json")
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
