"""A stand-in for the deploy flow, run as its own process against a real Prefect server.

Like the deploy flow, it calls each instance's gate from inside a task on a thread pool; an
approved instance "applies" (a marker in the results), a rejected one and its children are
skipped with the decision. A `sibling` task with no gate runs alongside.

    python -m tests.approvals.gate_flow SPEC.json RESULTS.json

SPEC: {"run_name": str, "gates": [{"instance", "timeout_s", "children": [...], "derive_parent"}],
       "sibling_s": float, "broken": [instances whose pause raises]}
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.runtime import flow_run as flow_run_runtime
from prefect.task_runners import ThreadPoolTaskRunner

import stackflow.flows.approval as approval
from stackflow.stacks_loader.approvals import approval_summary_markdown


def _fail_broken_pauses(broken: set[str]) -> None:
    """Fault injection: the pause of a gate for an instance in `broken` raises."""
    real = approval.pause_flow_run

    def pause(*args: Any, **kwargs: Any) -> Any:
        ctx = FlowRunContext.get()
        if ctx is not None and ctx.parameters.get("instance") in broken:
            raise RuntimeError("injected failure")
        return real(*args, **kwargs)

    approval.pause_flow_run = pause


@task(task_run_name="gated {instance}", cache_policy=NO_CACHE, persist_result=False)
def gated(instance: str, timeout_s: float, run_id: str, pass_run_id: bool) -> dict[str, Any]:
    summary = approval_summary_markdown(
        instance, 2, 1, 0, [f"aws_s3_bucket.{instance.split('/')[-1]}", "aws_iam_role.this"],
        f"file:///plans/{instance}.tfplan", approval.run_ui_url(run_id),
    )
    decision = approval.ask_for_approval(instance, summary, timeout_s,
                                         run_id if pass_run_id else "", poll_s=1)
    out: dict[str, Any] = {**asdict(decision), "at": decision.at.isoformat()}
    if decision.approved:
        out.update(status="applied", applied_at=time.time())
    else:
        out.update(status="skipped", note=f"not applied: {decision}")
    return out


@task(task_run_name="sibling", cache_policy=NO_CACHE, persist_result=False)
def sibling(seconds: float) -> float:
    time.sleep(seconds)
    return time.time()


def gates_demo(spec: dict[str, Any]) -> dict[str, Any]:
    run_id = str(flow_run_runtime.id)
    futures = {  # a gate told no parent ("derive_parent") finds the run itself
        g["instance"]: gated.submit(g["instance"], g["timeout_s"], run_id, not g.get("derive_parent"))
        for g in spec["gates"]
    }
    side = sibling.submit(spec.get("sibling_s", 1.0))
    results: dict[str, Any] = {"run_id": run_id, "instances": {}}
    for gate in spec["gates"]:
        outcome = futures[gate["instance"]].result()
        results["instances"][gate["instance"]] = outcome
        for child in gate.get("children", []):
            results["instances"][child] = (
                {"status": "planned"} if outcome["status"] == "applied" else
                {"status": "skipped", "note": f"ancestor {gate['instance']} {outcome['decision']} "
                                              f"by {outcome['by']}: {outcome['reason']}"}
            )
    results["sibling_finished_at"] = side.result()
    return results


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    _fail_broken_pauses(set(spec.get("broken", [])))
    demo = flow(name="stackflow-deploy", flow_run_name=spec["run_name"], persist_result=False,
                task_runner=ThreadPoolTaskRunner(max_workers=8))(gates_demo)
    Path(out_path).write_text(json.dumps(demo(spec), default=str))


if __name__ == "__main__":
    main(*sys.argv[1:3])
