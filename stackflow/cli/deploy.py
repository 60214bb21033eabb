"""`stackflow deploy` and `stackflow plan`: run the deploy flow over the selected instances."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from stackflow.errors import ConfigError

from .options import add_repo, add_selection, print_outcomes


def register(sub: argparse._SubParsersAction) -> None:
    for name, help_text in (("deploy", "plan and apply instances in dependency order"),
                            ("plan", "deploy --mode plan (nothing is applied)")):
        p = sub.add_parser(name, help=help_text)
        add_repo(p)
        add_selection(p)
        p.add_argument("--base", default=None, metavar="REF",
                       help="deploy what changed since this git ref (+ dependents)")
        p.add_argument("--head", default=None, metavar="REF", help="the changed ref (default: HEAD)")
        p.add_argument("--affected-file", default=None, metavar="FILE",
                       help="deploy the instances of an `atmos describe affected` JSON (+ dependents)")
        if name == "deploy":
            p.add_argument("--mode", choices=["plan", "apply", "destroy"], default="apply")
            p.add_argument("--plan-only", action="store_true", help="same as --mode plan")
        p.add_argument("--parallelism", type=int, default=None, help="instances at once")
        p.add_argument("--fail-fast", action="store_true", help="start nothing new after a failure")
        p.add_argument("--require-approval", action="store_true",
                       help="every instance with changes waits for a person before apply")
        p.add_argument("--auto-approve", action="append", default=[], metavar="STAGE",
                       help="no gate for this stage; production only if its settings allow it")
        p.add_argument("--lock-timeout", type=float, default=None, metavar="SECONDS",
                       help="how long to queue for a state lock (default: STACKFLOW_LOCK_TIMEOUT_S)")
        p.add_argument("--format", choices=["text", "json"], default="text")
        p.set_defaults(handler=run_deploy)


class _OneLineFormatter(logging.Formatter):
    """Wraps a console formatter so failures print as one line; `--debug` keeps tracebacks."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def quiet_console_tracebacks() -> None:
    """Prefect logs a traceback for every failed task; on a terminal the one-line reason is enough."""
    from prefect.logging.configuration import setup_logging

    setup_logging()
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler" and handler.formatter is not None:
            if not isinstance(handler.formatter, _OneLineFormatter):
                handler.setFormatter(_OneLineFormatter(handler.formatter))


def run_deploy(args: argparse.Namespace) -> int:
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.outcome import StackOutcome
    from stackflow.stacks_loader.selection import select_target
    from stackflow.stacks_loader.tag_selection import narrow_target, parse_tag_filter

    mode = "plan" if args.command == "plan" or getattr(args, "plan_only", False) else args.mode
    if args.parallelism is not None and args.parallelism < 1:
        raise ConfigError(f"--parallelism {args.parallelism}: must be at least 1")
    if args.lock_timeout is not None and args.lock_timeout < 0:
        raise ConfigError(f"--lock-timeout {args.lock_timeout:g}: must not be negative")
    tag_filter = parse_tag_filter(args.tags, args.labels)
    settings = load_settings(parallelism=args.parallelism)
    repo = Path(args.repo).resolve()
    # Validate the whole graph and the selection before any flow run (or server) starts.
    change = bool(args.base or args.head or args.affected_file)
    if change and (args.stack or args.all_instances):
        raise ConfigError("--base/--head/--affected-file choose the instances: drop --stack/--all")
    if change:
        from stackflow.tasks.git import select_change

        target = select_change(repo, settings.environ(), base=args.base, head=args.head,
                               affected_file=args.affected_file, allow_exec=settings.allow_exec)
        for ref, why in sorted(target.excluded.items()):
            print(f"stackflow: {ref}: excluded ({why})", file=sys.stderr)
    else:
        target = select_target(repo, settings.environ(), args.stack,
                               all_instances=args.all_instances, allow_exec=settings.allow_exec)
    target = narrow_target(target, tag_filter)
    if len(target.graph) == 0:
        if change:
            print("stackflow: the change affects no deployable instance; nothing to deploy", file=sys.stderr)
            return 0
        raise ConfigError("nothing to deploy: the selection has no deployable instances")
    from stackflow.stacks_loader.approvals import check_auto_approve

    check_auto_approve([target.instances[ref] for ref in target.graph.nodes], args.auto_approve)

    from stackflow.flows.deploy import DeployFailed, deploy

    if not args.debug:
        quiet_console_tracebacks()
    try:
        docs = deploy(repo=str(repo), stacks=args.stack, all_instances=args.all_instances,
                      mode=mode, parallelism=args.parallelism, fail_fast=args.fail_fast,
                      lock_timeout_s=args.lock_timeout, require_approval=args.require_approval,
                      auto_approve=args.auto_approve, base=args.base, head=args.head,
                      tags=args.tags or None, labels=args.labels or None,
                      affected_file=str(Path(args.affected_file).resolve()) if args.affected_file else None)
        outcomes = [StackOutcome.from_json(d) for d in docs]
        code = 0
    except DeployFailed as failed:
        outcomes = failed.outcomes
        code = 1
    print_outcomes(outcomes, args.format, failed=bool(code))
    return code
