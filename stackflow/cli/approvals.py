"""`stackflow approve|reject RUN STACK/COMPONENT --reason ...` and `stackflow approvals RUN`.

RUN is the deploy's Prefect flow run id (or its first 8+ characters) or its name. The same gates
can be answered in the Prefect UI (the paused `approve ...` run's Resume form) or over the REST
API; see docs/APPROVALS.md.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from .options import emit


def register(sub: argparse._SubParsersAction) -> None:
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        p = sub.add_parser(name, help=f"{verb} a deploy run's waiting approval gate(s)")
        p.add_argument("run", metavar="RUN", help="the deploy's Prefect flow run id or name")
        p.add_argument("instance", metavar="STACK/COMPONENT", nargs="?", default=None,
                       help="the instance whose gate to answer")
        p.add_argument("--all", action="store_true", dest="all_gates",
                       help="every gate of the run that is waiting")
        p.add_argument("--reason", required=True, help="why (kept with the decision)")
        p.add_argument("--name", default=None, help="who answers (default: user@host)")
        p.set_defaults(handler=answer, approve=name == "approve")

    p = sub.add_parser("approvals", help="the approval gates of a deploy run that are waiting")
    p.add_argument("run", metavar="RUN", help="the deploy's Prefect flow run id or name")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=list_gates)


def answer(args: argparse.Namespace) -> int:
    from stackflow.tasks.approvals import answer_gate

    if args.name is None:
        from stackflow.tasks.ledger.recorder import default_started_by

        args.name = default_started_by()
    answered = answer_gate(args.run, args.instance, approve=args.approve, reason=args.reason,
                           name=args.name, all_gates=args.all_gates)
    verb = "approved" if args.approve else "rejected"
    for instance in answered:
        print(f"{instance}: {verb} by {args.name.strip()}")
    return 0


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def list_gates(args: argparse.Namespace) -> int:
    from stackflow.tasks.approvals import pending_gates

    gates = pending_gates(args.run)
    if args.format == "json":
        emit([{"instance": g.instance, "gate_flow_run_id": g.id, "run": g.run_id,
               "paused_at": g.paused_at, "expires_at": g.expires_at} for g in gates], "json")
        return 0
    if not gates:
        print(f"run {args.run}: no gate waiting")
        return 0
    width = max(len(g.instance) for g in gates)
    print(f"{'INSTANCE':<{width}}  {'WAITING SINCE (UTC)':<19}  {'EXPIRES (UTC)':<19}  GATE RUN")
    for g in gates:
        print(f"{g.instance:<{width}}  {_when(g.paused_at):<19}  {_when(g.expires_at):<19}  {g.id}")
    return 0
