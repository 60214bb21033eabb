"""`stackflow describe stacks|graph|component|affected|dependents`: resolved instances, their
dependency graph, and what a change between two commits touches."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .options import add_go_bool, add_repo, emit


_QUERY_HELP = "only the value at this yq path (.vars.cidr, .settings.ids[0]; null where there is none), as Atmos"


def register(sub: argparse._SubParsersAction) -> None:
    describe = sub.add_parser("describe", help="show resolved stacks and their graph")
    dsub = describe.add_subparsers(dest="what", required=True, parser_class=type(describe))
    d_stacks = dsub.add_parser("stacks", help="every instance, resolved")
    add_repo(d_stacks)
    d_stacks.add_argument("--format", choices=["json", "yaml", "text"], default="yaml")
    # Atmos' filters; lists as Atmos takes them: comma-separated, or the flag repeated
    d_stacks.add_argument("--stack", "-s", default=None,
                          help="only this stack: its name, or its top-level manifest (e.g. orgs/acme/dev/us-east-1)")
    d_stacks.add_argument("--components", action="append", default=[], metavar="C1,C2",
                          help="only these components (and those whose top-level component: names one)")
    d_stacks.add_argument("--component-types", action="append", default=[], metavar="T1,T2",
                          help="only these component types (terraform; helmfile and packer give nothing)")
    d_stacks.add_argument("--sections", action="append", default=[], metavar="S1,S2",
                          help="only these sections of each component (vars, settings, env, backend, ...)")
    add_go_bool(d_stacks, "--include-empty-stacks", "also the stacks with no component (as Atmos: those named "
                                                    "by their manifest's name: or file)")
    d_stacks.add_argument("--file", default=None, help="write the result to this file instead of printing it")
    d_stacks.add_argument("--query", "-q", default=None, help=_QUERY_HELP)
    _add_loading_switches(d_stacks)
    d_stacks.set_defaults(handler=describe_stacks)
    d_graph = dsub.add_parser("graph", help="the dependency graph")
    add_repo(d_graph)
    d_graph.add_argument("--format", choices=["json", "mermaid", "dot", "text"], default="text")
    d_graph.set_defaults(handler=describe_graph)
    d_comp = dsub.add_parser("component", help="one instance, resolved (like atmos describe component)")
    d_comp.add_argument("component")
    d_comp.add_argument("--stack", "-s", required=True)
    add_repo(d_comp)
    d_comp.add_argument("--provenance", action="store_true", help="the file that set each key")
    d_comp.add_argument("--format", "-f", choices=["yaml", "json"], default="yaml")
    d_comp.add_argument("--file", default=None, help="write the result to this file instead of printing it")
    d_comp.add_argument("--query", "-q", default=None, help=_QUERY_HELP)
    _add_loading_switches(d_comp)
    d_comp.set_defaults(handler=describe_component)
    d_aff = dsub.add_parser("affected", help="instances a change between two commits touches")
    add_repo(d_aff)
    d_aff.add_argument("--base", default=None,
                       help="git ref or SHA to compare with (e.g. origin/main; default: refs/remotes/origin/HEAD, "
                            "as Atmos)")
    # Atmos' deprecated spellings of --base, kept so existing CI scripts run unchanged
    d_aff.add_argument("--ref", default=None, help=argparse.SUPPRESS)
    d_aff.add_argument("--sha", default=None, help=argparse.SUPPRESS)
    d_aff.add_argument("--repo-path", default=None, metavar="DIR",
                       help="compare with the HEAD commit of an already cloned target repository instead of --base")
    d_aff.add_argument("--head", default="HEAD", help="git ref with the change (default: HEAD)")
    # Atmos' boolean flags take Go's `--flag=false` too: its GitHub action passes them so
    add_go_bool(d_aff, "--include-dependents", "also every instance that depends on an affected one")
    d_aff.add_argument("--stack", "-s", default=None, help="only the instances of this stack (as Atmos)")
    add_go_bool(d_aff, "--exclude-locked", "leave out instances with metadata.locked: true (as Atmos)")
    add_go_bool(d_aff, "--include-settings", "each instance's settings (stackflow's default; "
                                             "--include-settings=false gives null, as Atmos without it)", True)
    _add_loading_switches(d_aff)
    d_aff.add_argument("--format", choices=["json", "yaml", "text", "matrix"], default="json",
                       help="json / yaml: atmos describe affected; text: the blast radius; matrix: a GitHub "
                            "Actions matrix (as Atmos)")
    d_aff.add_argument("--file", default=None, help="write the result to this file instead of printing it")
    d_aff.add_argument("--query", "-q", default=None, help=_QUERY_HELP + " (with --format json or yaml)")
    d_aff.add_argument("--output-file", default=None, metavar="FILE",
                       help="with --format matrix: append matrix=... and count=N to this file ($GITHUB_OUTPUT)")
    d_aff.set_defaults(handler=describe_affected)
    d_dep = dsub.add_parser("dependents", help="instances that depend on one instance")
    d_dep.add_argument("component")
    d_dep.add_argument("--stack", "-s", required=True)
    add_repo(d_dep)
    d_dep.add_argument("--format", "-f", choices=["json", "yaml"], default="json")
    d_dep.add_argument("--file", default=None, help="write the result to this file instead of printing it")
    d_dep.add_argument("--query", "-q", default=None, help=_QUERY_HELP)
    _add_loading_switches(d_dep)
    d_dep.set_defaults(handler=describe_dependents)


def _add_loading_switches(parser: argparse.ArgumentParser) -> None:
    """Atmos' switches for what it runs while it loads; stackflow never runs a run-time function then."""
    parser.add_argument("--skip", action="append", default=[], metavar="FUNCTION",
                        help="Atmos' functions not to run while loading: only the run-time ones (terraform.output, "
                             "terraform.state, store, store.get, exec, aws.*), which stackflow never runs then")
    add_go_bool(parser, "--process-functions", "must stay true: stackflow resolves !env, !template, !include... "
                                               "and never runs the run-time functions while loading", True)
    add_go_bool(parser, "--process-templates", "must stay true: stackflow always renders templates", True)


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

    _check_loading_switches(args)
    data = describe.describe_stacks(
        _load(args),
        stack=args.stack or None,  # `-s ""` is no filter, as in Atmos
        components=_listed(args.components),
        component_types=_listed(args.component_types),
        sections=_listed(args.sections),
        include_empty_stacks=args.include_empty_stacks,
    )
    data = _queried(data, args.query)
    with _output(args.file):
        if args.query is not None and args.format == "text":
            print(data if isinstance(data, str) else json.dumps(data))
        elif args.format == "text":
            for stack, doc in data.items():
                print(stack)
                for component in doc.get("components", {}).get("terraform", {}):
                    print(f"  {component}")
        else:
            emit(data, args.format)
    return 0


def _queried(data: Any, query: str | None) -> Any:
    """`data`, or with Atmos' `--query` the value at that path of it."""
    from stackflow.errors import ConfigError
    from stackflow.stacks_loader.query import QueryError, select

    if query is None:
        return data
    try:
        return select(data, query)
    except QueryError as exc:
        raise ConfigError(f"--query: {exc}") from None


def _listed(values: list[str]) -> list[str]:
    """A list flag's values: each given comma-separated or repeated, blanks dropped."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


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


def describe_component(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader import describe

    _check_loading_switches(args)
    doc = _queried(describe.describe_component(_load(args), args.component, args.stack, provenance=args.provenance),
                   args.query)
    with _output(args.file):
        emit(doc, args.format)
    return 0


def describe_affected(args: argparse.Namespace) -> int:
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.affected_json import affected_to_json
    from stackflow.stacks_loader.blast_radius import blast_radius_text
    from stackflow.errors import ConfigError
    from stackflow.stacks_loader.affected_filter import filter_affected
    from stackflow.tasks.git import affected_against_clone, affected_between, default_base

    if args.output_file and args.format != "matrix":
        raise ConfigError("--output-file is only supported with --format matrix (as Atmos)")
    if args.query is not None and args.format not in ("json", "yaml"):
        raise ConfigError(f"--query is only supported with --format json or yaml (the list it reads), not {args.format}")
    _check_loading_switches(args)
    settings = load_settings()
    given = [(flag, value) for flag, value in (("--base", args.base), ("--ref", args.ref), ("--sha", args.sha),
                                               ("--repo-path", args.repo_path)) if value]
    if len(given) > 1:
        raise ConfigError(f"{given[0][0]} and {given[1][0]} both name the commit to compare with: give one")
    if args.repo_path:
        base_label = f"{args.repo_path} (HEAD)"
        aset = affected_against_clone(Path(args.repo), Path(args.repo_path), args.head,
                                      include_dependents=args.include_dependents, environ=settings.environ(),
                                      stack=args.stack)
    else:
        base = given[0][1] if given else default_base(Path(args.repo))
        base_label = base
        aset = affected_between(Path(args.repo), base, args.head,
                                include_dependents=args.include_dependents, environ=settings.environ(),
                                stack=args.stack)
    aset = filter_affected(aset, stack=args.stack, exclude_locked=args.exclude_locked)
    for warning in aset.head.warnings:
        print(f"stackflow: warning: {warning}", file=sys.stderr)
    items = affected_to_json(aset)
    if not args.include_settings:
        for item in items:
            _drop_settings(item)
    if args.format == "matrix":
        write_matrix(items, args.output_file)
        return 0
    with _output(args.file):
        if args.format == "text":
            print(blast_radius_text(aset, base_label=base_label, head_label=args.head))
        else:
            emit(_queried(items, args.query), args.format)
    return 0


_RUN_TIME_FUNCTIONS = ("terraform.output", "terraform.state", "store", "store.get", "exec", "secret",
                      "aws.account_id", "aws.caller_identity_arn", "aws.caller_identity_user_id", "aws.region",
                      "aws.organization_id")


def _check_loading_switches(args: argparse.Namespace) -> None:
    """Atmos' `--skip`, `--process-functions`, `--process-templates`: accepted where stackflow already
    does what they ask (it never runs a run-time function while loading), refused otherwise."""
    from stackflow.errors import ConfigError

    for value in args.skip:
        for name in filter(None, (part.strip().removeprefix("!") for part in value.split(","))):
            if name not in _RUN_TIME_FUNCTIONS:
                raise ConfigError(f"--skip {name}: stackflow resolves !{name} while loading; only the run-time "
                                  f"functions can be skipped ({', '.join(_RUN_TIME_FUNCTIONS)}), and it never runs "
                                  "those then")
    for flag, on in (("--process-functions", args.process_functions), ("--process-templates", args.process_templates)):
        if not on:
            raise ConfigError(f"{flag}=false is not supported: stackflow always works on resolved values (it "
                              "renders templates and !env / !template / !include, and never runs the run-time "
                              "functions while loading)")


def _drop_settings(item: dict[str, Any]) -> None:
    """Atmos without `--include-settings`: `settings` is null, in dependents too."""
    item["settings"] = None
    for dependent in item.get("dependents") or ():
        _drop_settings(dependent)


def write_matrix(entries: list[dict[str, Any]], output_file: str | None) -> None:
    """Atmos' `--format matrix`: `{"include": [{stack, component, component_path, component_type}]}`
    as compact JSON, printed, or appended to `output_file` as `matrix=…` and `count=N` lines."""
    keys = ("stack", "component", "component_path", "component_type")
    text = json.dumps({"include": [{key: entry.get(key, "") for key in keys} for entry in entries]},
                      separators=(",", ":"))
    if output_file is None:
        print(text)
        return
    with open(output_file, "a", encoding="utf-8") as out:
        out.write(f"matrix={text}\ncount={len(entries)}\n")


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[None]:
    """Print to `path` (Atmos' `--file`) when given, else to stdout; the file is written only
    once everything printed, so an error leaves no half-written result behind."""
    if path is None:
        yield
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield
    Path(path).write_text(buffer.getvalue(), encoding="utf-8")


def describe_dependents(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader.affected_json import dependents_to_json

    _check_loading_switches(args)
    data = _queried(dependents_to_json(_load(args), args.component, args.stack), args.query)
    with _output(args.file):
        emit(data, args.format)
    return 0
