"""The approval gate: one small Prefect flow run per instance that waits for a person.

The deploy flow calls `ask_for_approval` (or `approval_gate`) from the task that would apply the
instance, after its plan. The gate is a subflow, so it pauses alone: other branches of the deploy
keep running and several gates can wait at once. A person answers in the Prefect UI (the paused
run's Resume form), with `stackflow approve|reject`, or over Prefect's REST API.

Fail closed: the form's default is reject (Prefect resumes without input using the defaults), no
answer within the timeout rejects, an approval without a name rejects, and any error rejects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from prefect import flow, get_run_logger
from prefect.events import emit_event
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run as flow_run_runtime
from pydantic import Field

from stackflow.stacks_loader.approvals import approval_summary_markdown
from stackflow.tasks.approvals import GATE_FLOW_NAME

if TYPE_CHECKING:
    from stackflow.tasks.terraform import PlanResult

EVENT_REQUESTED = "stackflow.approval.requested"
EVENT_DECIDED = "stackflow.approval.decided"


class Approval(RunInput):
    """The form a reviewer fills in; every default means "no"."""

    decision: Literal["reject", "approve"] = Field(
        "reject", description="approve applies this plan; reject skips the instance and its dependents"
    )
    reason: str = Field("", description="why (kept in the run ledger)")
    name: str = Field("", description="who answers (required to approve)")


@dataclass
class ApprovalDecision:
    """A gate's outcome. `decision` is "approved" or "rejected", as the ledger records it."""

    approved: bool
    decision: str
    by: str
    reason: str
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    timed_out: bool = False
    gate_run_id: str = ""

    @classmethod
    def rejected(cls, by: str, reason: str, *, timed_out: bool = False,
                 gate_run_id: str = "") -> "ApprovalDecision":
        return cls(False, "rejected", by, reason, timed_out=timed_out, gate_run_id=gate_run_id)

    def __str__(self) -> str:
        text = f"{self.decision} by {self.by}"
        return f"{text}: {self.reason}" if self.reason else text


def run_ui_url(flow_run_id: str) -> str | None:
    """The Prefect UI page of a flow run, when a UI URL is known."""
    from prefect.utilities.urls import url_for

    return url_for("flow-run", obj_id=flow_run_id) if flow_run_id else None


def summary_for_plan(instance_label: str, plan: PlanResult, run_id: str = "") -> str:
    """`approval_summary_markdown` from a `tasks.terraform.PlanResult`."""
    s = plan.summary
    return approval_summary_markdown(
        instance_label, s.add, s.change, s.destroy, [r.address for r in s.resources],
        plan.plan_uri, run_ui_url(run_id),
    )


def _parent_run_id() -> str:
    """The flow run this gate runs under (the deploy run), read from its tracking task run."""
    from prefect import get_client
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or ctx.flow_run.parent_task_run_id is None:
        return ""
    with get_client(sync_client=True) as client:
        return str(client.read_task_run(ctx.flow_run.parent_task_run_id).flow_run_id or "")


def _resources(
    instance: str, gate_id: str, parent_run_id: str
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The event's resource (the gate) and related resources (its flow run, the deploy run)."""
    resource = {
        "prefect.resource.id": f"stackflow.approval.{gate_id}",
        "prefect.resource.name": f"approve {instance}",
        "stackflow.instance": instance,
        "stackflow.run": parent_run_id,
    }
    related = [{"prefect.resource.id": f"prefect.flow-run.{gate_id}",
                "prefect.resource.role": "approval-gate"}]
    if parent_run_id:
        related.append({"prefect.resource.id": f"prefect.flow-run.{parent_run_id}",
                        "prefect.resource.role": "deploy-run"})
    return resource, related


def _decide(answer: Approval, gate_id: str) -> ApprovalDecision:
    name, reason = answer.name.strip(), answer.reason.strip()
    if answer.decision != "approve":
        return ApprovalDecision.rejected(name or "anonymous", reason, gate_run_id=gate_id)
    if not name:
        return ApprovalDecision.rejected(
            "anonymous", "approved without a name: an approval must say who gives it",
            gate_run_id=gate_id)
    return ApprovalDecision(True, "approved", name, reason, gate_run_id=gate_id)


@flow(name=GATE_FLOW_NAME, flow_run_name="approve {instance}", persist_result=False)
def approval_gate(
    instance: str,
    summary_markdown: str,
    timeout_s: float,
    parent_run_id: str = "",
    poll_s: float = 5.0,
) -> ApprovalDecision:
    """Announce the gate, pause for an `Approval`, and turn the answer into a decision.

    Never raises for a missing, late or broken answer: those are rejections.
    """
    logger = get_run_logger()
    gate_id = str(flow_run_runtime.id or "")
    try:
        parent_run_id = parent_run_id or _parent_run_id()
        resource, related = _resources(instance, gate_id, parent_run_id)
        expires = datetime.now(timezone.utc) + timedelta(seconds=timeout_s)
        emit_event(
            EVENT_REQUESTED, resource=resource, related=related,
            payload={"run": parent_run_id, "instance": instance, "gate_flow_run_id": gate_id,
                     "summary": summary_markdown, "timeout_s": timeout_s,
                     "expires": expires.isoformat(), "url": run_ui_url(gate_id)},
        )
        logger.info("%s: waiting for approval (up to %gs)", instance, timeout_s)
        answer = pause_flow_run(
            wait_for_input=Approval.with_initial_data(description=summary_markdown),
            timeout=max(1, math.ceil(timeout_s)),
            poll_interval=max(1, round(poll_s)),
        )
        decision = _decide(answer, gate_id)
    except FlowPauseTimeout:
        decision = ApprovalDecision.rejected(
            "timeout", f"no answer within {timeout_s:g} s", timed_out=True, gate_run_id=gate_id)
    except Exception as exc:  # fail closed: a gate that breaks is a gate that says no
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        decision = ApprovalDecision.rejected(
            "stackflow", f"approval gate error: {first_line}", gate_run_id=gate_id)
    logger.info("%s: %s", instance, decision)
    try:
        resource, related = _resources(instance, gate_id, parent_run_id)
        emit_event(EVENT_DECIDED, resource=resource, related=related,
                   payload={"run": parent_run_id, "instance": instance,
                            "decision": decision.decision, "by": decision.by,
                            "reason": decision.reason, "timed_out": decision.timed_out})
    except Exception:  # the decision stands even if nobody hears about it
        logger.warning("%s: could not emit %s", instance, EVENT_DECIDED)
    return decision


def ask_for_approval(
    instance: str,
    summary_markdown: str,
    timeout_s: float,
    parent_run_id: str = "",
    poll_s: float = 5.0,
) -> ApprovalDecision:
    """Run `approval_gate` as a subflow; an error before or around it also rejects."""
    try:
        return approval_gate(instance, summary_markdown, timeout_s, parent_run_id, poll_s)
    except Exception as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        return ApprovalDecision.rejected("stackflow", f"approval gate error: {first_line}")
