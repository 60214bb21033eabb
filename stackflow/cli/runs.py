"""`stackflow runs list|show`, `history`, `audit export` and `retry`: the run ledger.

RUN is the ledger's run id, the Prefect flow run id (or its first 8+ characters) or its name.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any

from stackflow.errors import ConfigError

from .options import emit, print_outcomes

if TYPE_CHECKING:
    from stackflow.tasks.ledger.models import Run, StepAttempt
    from stackflow.tasks.ledger.store import Ledger, LedgerEvent


def register(sub: argparse._SubParsersAction) -> None:
    runs = sub.add_parser("runs", help="runs recorded in the ledger")
    rsub = runs.add_subparsers(dest="what", required=True, parser_class=type(runs))
    r_list = rsub.add_parser("list", help="the most recent runs, newest first")
    r_list.add_argument("--limit", type=int, default=20, help="how many runs (default: 20)")
    r_list.add_argument("--format", choices=["text", "json"], default="text")
    r_list.set_defaults(handler=list_runs)
    r_show = rsub.add_parser("show", help="one run and how each of its instances ended")
    r_show.add_argument("run", metavar="RUN")
    r_show.add_argument("--format", choices=["text", "json"], default="text")
    r_show.set_defaults(handler=show_run)

    history = sub.add_parser("history", help="every plan, apply and approval of one instance")
    history.add_argument("instance", metavar="STACK/COMPONENT")
    history.add_argument("--format", choices=["text", "json"], default="text")
    history.set_defaults(handler=show_history)

    audit = sub.add_parser("audit", help="the ledger as an audit trail")
    asub = audit.add_subparsers(dest="what", required=True, parser_class=type(audit))
    export = asub.add_parser("export", help="every event (runs, plans, applies, approvals, locks)")
    export.add_argument("--since", metavar="DATE", default=None,
                        help="only events at or after DATE (YYYY-MM-DD or ISO time, UTC)")
    export.add_argument("--format", choices=["csv", "json"], required=True)
    export.set_defaults(handler=export_audit)

    retry = sub.add_parser("retry", help="re-run only what a run left failed (same commit)")
    retry.add_argument("run", metavar="RUN")
    retry.add_argument("--include-rejected", action="store_true",
                       help="also instances rejected at an approval gate")
    retry.add_argument("--repo", default=None, help="the repo's path (default: the run's)")
    retry.add_argument("--format", choices=["text", "json"], default="text")
    retry.set_defaults(handler=run_retry)


def _ledger() -> Ledger:
    from stackflow.settings import load_settings
    from stackflow.tasks.ledger.recorder import open_ledger

    return open_ledger(load_settings())


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; the last one runs free."""
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1]
        for row in rows
    )


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id, "flow_run_id": run.flow_run_id, "flow_run_name": run.flow_run_name,
        "repo": run.repo, "commit": run.commit, "base_ref": run.base_ref, "head_ref": run.head_ref,
        "trigger": run.trigger, "mode": run.mode, "started_by": run.started_by,
        "status": run.status, "retry_of": run.retry_of, "selection": list(run.selection),
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "note": run.note,
    }


def _step_json(step: StepAttempt) -> dict[str, Any]:
    return {
        "instance": step.instance, "step": step.step, "attempt": step.attempt,
        "status": step.status, "exit_code": step.exit_code, "plan_checksum": step.plan_checksum,
        "started_at": step.started_at.isoformat(), "ended_at": step.ended_at.isoformat(),
        "error": step.error,
    }


def _duration(run: Run) -> str:
    if run.ended_at is None:
        return "-"
    return f"{(run.ended_at - run.started_at).total_seconds():.1f}s"


def list_runs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise ConfigError(f"--limit {args.limit}: must be at least 1")
    ledger = _ledger()
    runs = ledger.list_runs(args.limit)
    counts = ledger.result_counts(r.id for r in runs if r.id is not None)
    if args.format == "json":
        emit([{**run_json(r), "results": counts.get(r.id or 0, {})} for r in runs], "json")
        return 0
    rows = [
        (str(r.id), r.status, r.mode, r.trigger, (r.commit or "-")[:12], _when(r.started_at),
         _duration(r), r.started_by or "-",
         ", ".join(f"{n} {s}" for s, n in sorted(counts.get(r.id or 0, {}).items())) or "-",
         r.repo)
        for r in runs
    ]
    print(_table(("RUN", "STATUS", "MODE", "TRIGGER", "COMMIT", "STARTED (UTC)", "TIME", "BY",
                  "RESULTS", "REPO"), rows))
    return 0


def show_run(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader.report import outcomes_text

    ledger = _ledger()
    run = ledger.find_run(args.run)
    assert run.id is not None
    outcomes = ledger.outcomes(run.id)
    finished = {o.instance for o in outcomes}
    unfinished = [name for name in run.selection if name not in finished]
    if args.format == "json":
        emit({"run": run_json(run), "instances": [o.to_json() for o in outcomes],
              "unfinished": unfinished, "steps": [_step_json(s) for s in ledger.steps(run.id)]},
             "json")
        return 0
    facts = [
        ("status", run.status + (f" ({run.note})" if run.note else "")),
        ("repo", f"{run.repo} @ {run.commit[:12] or '(not a git repository)'}"),
        ("mode", run.mode),
        ("trigger", f"{run.trigger} by {run.started_by or '?'}"),
        ("started", f"{_when(run.started_at)} UTC, ended {_when(run.ended_at)}"),
        ("prefect", f"{run.flow_run_id} ({run.flow_run_name})"),
    ]
    if run.retry_of:
        facts.append(("retry of", f"run {run.retry_of}"))
    print(f"run {run.id}")
    for label, value in facts:
        print(f"  {label + ':':<10} {value}")
    print()
    print(outcomes_text(outcomes))
    if unfinished:
        print(f"\nnot finished: {', '.join(unfinished)}")
    return 0


def _events_text(events: list[LedgerEvent]) -> str:
    rows = []
    for e in events:
        counts = f"+{e.add} ~{e.change} -{e.destroy}" if e.add is not None else ""
        rows.append((
            _when(e.at), str(e.run_id or "-"), e.instance or "-", e.event,
            e.status + (f" #{e.attempt}" if e.attempt and e.event in ("plan", "apply") else ""),
            (e.commit or "-")[:12], counts, (e.plan_checksum or "-")[:12], e.by or "-",
            " | ".join(e.detail.splitlines()),
        ))
    return _table(("AT (UTC)", "RUN", "INSTANCE", "EVENT", "STATUS", "COMMIT", "CHANGES", "PLAN",
                   "BY", "DETAIL"), rows)


def show_history(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader.model import InstanceRef

    ref = InstanceRef.parse(args.instance)
    events = _ledger().history(ref)
    if args.format == "json":
        emit([e.to_json() for e in events], "json")
    elif not events:
        print(f"{ref}: nothing recorded")
    else:
        print(_events_text(events))
    return 0


def parse_since(text: str) -> datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO time (UTC unless it says otherwise)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {text!r}: expected YYYY-MM-DD or an ISO date-time") from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def export_audit(args: argparse.Namespace) -> int:
    from stackflow.tasks.ledger.store import LedgerEvent

    since = parse_since(args.since) if args.since else None
    docs = [e.to_json() for e in _ledger().events(since=since)]
    if args.format == "json":
        emit(docs, "json")
        return 0
    writer = csv.DictWriter(sys.stdout, fieldnames=list(LedgerEvent.FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(docs)
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.outcome import StackOutcome
    from stackflow.tasks.ledger.recorder import default_started_by, open_ledger
    from stackflow.tasks.ledger.retry import prepare_retry

    settings = load_settings()
    # Check the run, the commit and the selection before any flow run (or server) starts.
    retry = prepare_retry(open_ledger(settings), args.run, settings, repo=args.repo,
                          include_rejected=args.include_rejected)
    names = ", ".join(str(ref) for ref in retry.target.graph.order())
    print(f"stackflow: retry of run {retry.previous.id} on "
          f"{retry.commit[:12] or 'the same folder'}: {names}; "
          f"{len(retry.selection.untouched)} succeeded instance(s) left alone", file=sys.stderr)

    from stackflow.flows.deploy import DeployFailed, deploy

    from .deploy import quiet_console_tracebacks

    if not args.debug:
        quiet_console_tracebacks()
    try:
        docs = deploy(repo=str(retry.repo), mode=retry.mode, retry_of=str(retry.previous.id),
                      include_rejected=args.include_rejected, trigger="retry",
                      started_by=default_started_by())
        outcomes = [StackOutcome.from_json(d) for d in docs]
        code = 0
    except DeployFailed as failed:
        outcomes = failed.outcomes
        code = 1
    print_outcomes(outcomes, args.format, bool(code))
    return code
