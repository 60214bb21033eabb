"""The deploy flow: load, order, plan, apply, report.

Each instance's steps are Prefect tasks named for it (`plan plat-ue1-dev/vpc`, `apply ...`). An
instance starts the moment its own parents succeeded; a failure skips only its descendants. The
graph bookkeeping lives in `stacks_loader.schedule`; this module only turns it into task runs.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as flow_run_runtime
from prefect.runtime import task_run as task_run_runtime
from prefect.utilities.annotations import quote
from stackflow.flows.approval import (
    ApprovalDecision,
    ask_for_approval,
    summary_for_plan,
)
from stackflow.flows.recorder import NullRecorder, RunInfo, RunRecorder, StepRecord
from stackflow.flows.steps import InstanceSteps, TerraformSteps
from stackflow.stacks_loader.approvals import check_auto_approve, needs_approval
from stackflow.stacks_loader.atmos_config import StoreConfig
from stackflow.stacks_loader.aws_facts import aws_facts_in, fill_aws_facts
from stackflow.stacks_loader.deferred import fill_deferred
from stackflow.stacks_loader.graph import DependencyGraph
from stackflow.stacks_loader.exec_values import exec_refs_in, fill_exec
from stackflow.stacks_loader.model import AwsFact, ExecRef, InstanceRef, StackInstance, StoreRef
from stackflow.stacks_loader.outcome import StackOutcome
from stackflow.stacks_loader.report import summary_markdown
from stackflow.stacks_loader.schedule import DeployQueue
from stackflow.stacks_loader.selection import select_target
from stackflow.stacks_loader.stages import validation_command
from stackflow.stacks_loader.stores import StoreRead, fill_stores, store_reads
from stackflow.stacks_loader.tag_selection import narrow_target, parse_tag_filter
from stackflow.tasks.aws_facts import AwsFactReader, AwsFactValues
from stackflow.tasks.exec_commands import ExecRunner
from stackflow.tasks.git import head_commit
from stackflow.tasks.locks import Lease, LockHolder, StackLocks, check_not_superseded
from stackflow.tasks.state_lock import (
    CrashedHolder,
    StateCustody,
    StateLockInfo,
    acting_on_state,
)
from stackflow.tasks.stores import StoreReader, StoreValues
from stackflow.tasks.terraform import ApplyResult, PlanResult
from stackflow.tasks.validate import run_validation

from stackflow.errors import ConfigError, StackflowError
from stackflow.settings import Settings, load_settings

Mode = Literal["plan", "apply", "destroy"]


class DeployFailed(StackflowError):
    """At least one instance failed; carries every instance's outcome."""

    def __init__(self, outcomes: list[StackOutcome]) -> None:
        self.outcomes = outcomes
        failed = [o for o in outcomes if o.status == "failed"]
        names = ", ".join(o.instance for o in failed[:5]) + (" ..." if len(failed) > 5 else "")
        super().__init__(f"{len(failed)} of {len(outcomes)} instances failed: {names}")


def _retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: only failures the runner marked transient are retried."""
    return bool(getattr(state.data, "transient", False))


def _attempt() -> int:
    return int(task_run_runtime.run_count or 1)


def _record_failure(recorder: RunRecorder, instance: StackInstance, step: str, started: float,
                    exc: BaseException) -> None:
    exc.attempts = _attempt()  # type: ignore[attr-defined]
    exc.duration_s = time.time() - started  # type: ignore[attr-defined]
    recorder.step_ended(StepRecord(
        instance.ref, step, _attempt(), started, time.time(), ok=False,
        exit_code=getattr(exc, "returncode", None), error=str(exc),
    ))


@dataclass
class ApplyGuard:
    """What must hold right before an apply, and what to record right after it."""

    locks: StackLocks
    lease: Lease | None
    repo: Path
    commit: str
    run_id: str

    def before(self, instance: StackInstance) -> None:
        if self.lease is not None:
            self.lease.ensure_held()
        # newer commit wins: never roll back a state a later commit has already changed
        check_not_superseded(self.repo, str(instance.ref), self.commit,
                             self.locks.last_applied(instance))

    def after(self, instance: StackInstance) -> None:
        self.locks.record_applied(instance, self.commit, self.run_id)


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which instances wait for a person before apply, and for how long."""

    require_all: bool = False
    auto_approve_stages: frozenset[str] = frozenset()
    timeout_s: float = 86400.0
    poll_s: float = 5.0

    def applies_to(self, instance: StackInstance) -> bool:
        return needs_approval(instance, require_all=self.require_all,
                              auto_approve_stages=self.auto_approve_stages)


@task(name="approval", task_run_name="approval {label}", cache_policy=NO_CACHE, persist_result=False)
def await_approval(label: str, summary_markdown: str, timeout_s: float, poll_s: float,
                   parent_run_id: str) -> ApprovalDecision:
    """Pause a small gate subflow for this instance only; other branches keep running."""
    decision = ask_for_approval(label, summary_markdown, timeout_s, parent_run_id, poll_s)
    get_run_logger().info("%s: %s", label, decision)
    return decision


@task(name="lock", task_run_name="lock {label}", cache_policy=NO_CACHE, persist_result=False)
def lock_instance(label: str, locks: StackLocks, instance: StackInstance, holder: LockHolder,
                  take: bool, timeout_s: float | None) -> Lease | None:
    """Queue for the instance's state lock (plan-only runs just wait out maintenance)."""
    logger = get_run_logger()
    if not take:
        locks.wait_for_maintenance(instance, timeout_s=timeout_s, on_wait=logger.info)
        return None
    started = time.monotonic()
    lease = locks.acquire(instance, holder, timeout_s=timeout_s, on_wait=logger.info)
    lease.waited_s = time.monotonic() - started
    logger.info("%s: holds lock %s (%s)", label, lease.name, lease.address)
    return lease


@task(name="plan", task_run_name="plan {label}", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=_retry_if_transient)
def plan_instance(
    label: str, steps: InstanceSteps, recorder: RunRecorder, instance: StackInstance,
    resolved_vars: dict[str, Any], read_outputs: bool, destroy: bool,
    custody: StateCustody | None = None,
) -> PlanResult:
    started = time.time()
    try:
        with acting_on_state(custody):
            result = steps.plan(instance, resolved_vars, read_outputs=read_outputs, destroy=destroy)
    except Exception as exc:
        _record_failure(recorder, instance, "plan", started, exc)
        raise
    result.attempts = _attempt()
    recorder.step_ended(StepRecord(
        instance.ref, "plan", _attempt(), started, time.time(), ok=True,
        exit_code=2 if result.summary.has_changes else 0, plan_checksum=result.plan_sha256,
    ))
    s = result.summary
    get_run_logger().info("%s: plan +%d ~%d -%d", label, s.add, s.change, s.destroy)
    return result


@task(name="apply", task_run_name="apply {label}", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=_retry_if_transient)
def apply_instance(
    label: str, steps: InstanceSteps, recorder: RunRecorder, instance: StackInstance,
    plan: PlanResult, guard: ApplyGuard | None = None, custody: StateCustody | None = None,
) -> ApplyResult:
    started = time.time()
    try:
        if guard is not None:
            guard.before(instance)
        with acting_on_state(custody):
            result = steps.apply(instance, plan)
        if guard is not None:
            guard.after(instance)
    except Exception as exc:
        _record_failure(recorder, instance, "apply", started, exc)
        raise
    result.attempts = _attempt()
    recorder.step_ended(StepRecord(instance.ref, "apply", _attempt(), started, time.time(), ok=True,
                                   exit_code=0, plan_checksum=plan.plan_sha256))
    get_run_logger().info("%s: applied", label)
    return result


@dataclass(frozen=True)
class RunTimeValues:
    """What an instance's vars read as it starts: store values, `!aws.*` facts, `!exec` outputs."""

    stores: StoreValues
    facts: AwsFactValues
    execs: dict[ExecRef, Any] = field(default_factory=dict)


@task(name="stores", task_run_name="stores {label}", cache_policy=NO_CACHE, persist_result=False)
def read_instance_stores(
    label: str,
    reader: StoreReader,
    reads: dict[StoreRef, StoreRead],
    aws: AwsFactReader,
    facts: frozenset[AwsFact],
    runner: ExecRunner | None = None,
    execs: frozenset[ExecRef] = frozenset(),
) -> RunTimeValues:
    """The instance's `!store` / `!store.get` values, `!aws.*` facts and `!exec` outputs, read right
    before it plans (never persisted: they may be secrets)."""
    values = RunTimeValues(reader.read_values(reads, label), aws.read_facts(facts, label),
                           runner.run(execs, label) if runner is not None and execs else {})
    get_run_logger().info("%s: read %d store value(s), %d AWS fact(s) and %d !exec output(s)", label,
                          len(values.stores.values), len(values.facts.values), len(values.execs))
    return values


@task(name="outputs", task_run_name="outputs {label}", cache_policy=NO_CACHE, persist_result=False,
      retry_condition_fn=_retry_if_transient)
def read_instance_outputs(label: str, steps: InstanceSteps, instance: StackInstance) -> dict[str, Any]:
    return steps.read_outputs(instance)


@task(name="validate", task_run_name="validate {label}", cache_policy=NO_CACHE, persist_result=False)
def validate_instance(label: str, command: str, outputs: dict[str, Any], repo: str, timeout_s: float) -> None:
    """A stage's validation command, after the instance is applied and before later stages."""
    from stackflow.settings import Settings

    run_validation(command, label, outputs, Path(repo), Settings.environ(), timeout_s)
    get_run_logger().info("%s: validated: %s", label, command)


class PlanArtifacts:
    """Per-instance plan summaries as markdown artifacts of this flow run.

    Posted from a background thread with one client: each artifact costs the server a write
    (~40 ms here), which must not sit on the scheduler's path. `close` waits for the last ones.
    """

    def __init__(self) -> None:
        self._flow_run_id = flow_run_runtime.id
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._post_all, name="plan-artifacts", daemon=True)
        self._thread.start()

    def add(self, ref: InstanceRef, plan: PlanResult) -> None:
        s = plan.summary
        lines = [f"# plan {ref}", "", f"**+{s.add} ~{s.change} -{s.destroy}**", ""]
        lines += [f"- `{r.address}`: {', '.join(r.actions)}" for r in s.resources] or ["No changes."]
        if plan.plan_uri:
            lines += ["", f"Plan file: `{plan.plan_uri}` (sha256 `{plan.plan_sha256[:16]}`)"]
        key = "plan-" + "".join(c if c.isalnum() else "-" for c in str(ref).lower()).strip("-")
        self._queue.put((key[:100], "\n".join(lines), f"plan of {ref}"))

    def _post_all(self) -> None:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import ArtifactCreate

        with get_client(sync_client=True) as client:
            while (item := self._queue.get()) is not None:
                key, markdown, description = item
                try:
                    client.create_artifact(ArtifactCreate(
                        key=key, type="markdown", data=markdown, description=description,
                        flow_run_id=self._flow_run_id))
                except Exception as exc:  # a report that failed must not fail the deploy
                    logging.getLogger("stackflow").warning("plan artifact %s not saved: %s", key, exc)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _error_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _GraphRun:
    """One pass over the graph: submits task runs as instances become ready."""

    def __init__(
        self,
        graph: DependencyGraph,
        instances: Mapping[InstanceRef, StackInstance],
        steps: InstanceSteps,
        *,
        mode: Mode,
        parallelism: int,
        fail_fast: bool,
        retries: int,
        retry_delay_s: float,
        durations: Mapping[InstanceRef, float] | None,
        recorder: RunRecorder,
        repo: Path | None,
        command_timeout_s: float,
        locks: StackLocks | None,
        run_info: RunInfo | None,
        lock_timeout_s: float | None,
        approvals: ApprovalPolicy | None,
        stores: Mapping[str, StoreConfig] | None = None,
        store_reader: StoreReader | None = None,
        aws_reader: AwsFactReader | None = None,
        exec_runner: ExecRunner | None = None,
    ) -> None:
        self.approvals = approvals
        # `!exec` values (kept only when allowed) run in the repository, with this process' environment
        self.exec_runner = exec_runner or ExecRunner(repo or Path.cwd(), dict(os.environ), command_timeout_s)
        self.stores = stores or {}  # atmos.yaml `stores:`; none configured = no instance reads one
        self.store_reader = store_reader or StoreReader()
        self.aws_reader = aws_reader or AwsFactReader()  # one per run: STS asked once at most
        self.repo = repo
        self.command_timeout_s = command_timeout_s
        self.locks = locks
        self.run_info = run_info
        self.lock_timeout_s = lock_timeout_s
        self.leases: dict[InstanceRef, Lease] = {}
        self.resolved: dict[InstanceRef, dict[str, Any]] = {}
        self.graph = graph
        self.recorder = recorder
        self.instances = instances
        self.steps = steps
        self.mode = mode
        self.parallelism = max(1, parallelism)
        self.fail_fast = fail_fast
        if durations is None:
            durations = recorder.known_durations(graph.nodes)
        self.queue = DeployQueue(graph, durations)
        self.events: queue.Queue[tuple[InstanceRef, str, Any]] = queue.Queue()
        self.outcomes: dict[InstanceRef, StackOutcome] = {}
        self.outputs: dict[InstanceRef, dict[str, Any]] = {}
        self.unreadable: dict[InstanceRef, str] = {}  # parents outside the run whose outputs could not be read: why
        self.plans: dict[InstanceRef, PlanResult] = {}
        self.applied: dict[InstanceRef, ApplyResult] = {}
        self.changed: set[InstanceRef] = set()
        self.output_parents = {
            dep.parent
            for ref in graph.nodes
            for dep in instances[ref].dependencies
            if dep.via == "terraform.output"
        }
        delays = [retry_delay_s * 2**i for i in range(retries)] or 0
        opts = dict(retries=retries, retry_delay_seconds=delays)
        self.plan_task = plan_instance.with_options(**opts)
        self.apply_task = apply_instance.with_options(**opts)
        self.outputs_task = read_instance_outputs.with_options(**opts)

    # --- bookkeeping -------------------------------------------------------------------------
    def _submit(self, ref: InstanceRef, step: str, task_obj: Any, **params: Any) -> None:
        # quote: the services are shared with other task threads (which change their state); Prefect
        # must not walk into them looking for futures while they change (it found none anyway)
        future = task_obj.submit(label=str(ref), steps=quote(self.steps), recorder=quote(self.recorder), **params)
        future.add_done_callback(lambda f: self.events.put((ref, step, f)))

    def _finish(self, outcome: StackOutcome, ref: InstanceRef) -> None:
        self.outcomes[ref] = outcome
        self.recorder.instance_finished(outcome)
        lease = self.leases.pop(ref, None)
        if lease is not None and self.locks is not None:
            self.locks.release(lease)
            self.recorder.lock_event(ref, lease.name, "released", detail=lease.address)
        if outcome.status in ("succeeded", "no changes"):
            self.queue.succeed(ref)
        elif outcome.status == "failed":
            for skipped in self.queue.fail(ref):
                self._skipped(skipped, "ancestor failed", ref)
            if self.fail_fast:
                for skipped in self.queue.halt(ref):
                    self._skipped(skipped, "fail-fast", ref)
        else:
            for skipped in self.queue.skip(ref):
                self._skipped(skipped, "ancestor not applied", ref)

    def _skipped(self, ref: InstanceRef, reason: str, cause: InstanceRef) -> None:
        outcome = StackOutcome(ref.stack, ref.component, "skipped", reason, str(cause))
        self.outcomes[ref] = outcome
        self.recorder.instance_finished(outcome)

    def _failed(self, ref: InstanceRef, exc: BaseException) -> None:
        plan = self.plans.get(ref)  # set when the apply (not the plan) failed
        duration_s = float(getattr(exc, "duration_s", 0.0)) + (plan.duration_s if plan else 0.0)
        self._finish(
            StackOutcome(ref.stack, ref.component, "failed", "run error", _error_line(exc),
                         attempts=int(getattr(exc, "attempts", 1)), duration_s=duration_s),
            ref,
        )

    # --- steps -------------------------------------------------------------------------------
    def _start(self, ref: InstanceRef) -> None:
        instance = self.instances[ref]
        # store values and AWS facts first, in a task run of their own (the network stays off this
        # loop); with no store configured there is no store value to look for
        try:
            reads = store_reads(instance.vars, instance.stack, self.stores) if self.stores else {}
        except ConfigError as exc:  # selection refuses these first; a graph run straight from code may not
            self._failed(ref, ConfigError(f"{ref}: {exc}"))
            return
        facts = aws_facts_in(instance.vars)
        execs = exec_refs_in(instance.vars)
        if reads or facts or execs:
            future = read_instance_stores.submit(label=str(ref), reader=quote(self.store_reader),
                                                 reads=quote(reads), aws=quote(self.aws_reader),
                                                 facts=quote(facts), runner=quote(self.exec_runner),
                                                 execs=quote(execs))
            future.add_done_callback(lambda f: self.events.put((ref, "stores", f)))
            return
        self._fill(ref, instance.vars)

    def _on_stores(self, ref: InstanceRef, values: RunTimeValues) -> None:
        vars_ = self.instances[ref].vars
        if values.stores.values:
            vars_ = fill_stores(vars_, values.stores.values)
        if values.facts.values:
            vars_ = fill_aws_facts(vars_, values.facts.values)
        if values.execs:
            vars_ = fill_exec(vars_, values.execs)
        self._fill(ref, vars_)

    def _fill(self, ref: InstanceRef, vars_: dict[str, Any]) -> None:
        """Deferred outputs filled into the vars, then the lock (if any) and the plan."""
        instance = self.instances[ref]
        try:
            resolved = fill_deferred(vars_, self.outputs, dependent=str(ref))
        except ConfigError as exc:
            unread = sorted(d.parent for d in instance.dependencies if d.parent in self.unreadable)
            if unread:  # no wait helps: the read failed (an abstract parent is never applied here)
                self._failed(ref, StackflowError(f"{ref}: outputs of {unread[0]} could not be read: "
                                                 f"{self.unreadable[unread[0]]}"))
            elif self.mode == "plan":
                # A PR plan of a child whose parent was never applied cannot be made yet.
                outcome = StackOutcome(ref.stack, ref.component, "skipped",
                                       "parent outputs not available until it is applied",
                                       _error_line(exc), provisional=True)
                self._finish(outcome, ref)
            else:
                self._failed(ref, exc)
            return
        self.resolved[ref] = resolved
        if self.locks is not None and self.run_info is not None:
            holder = LockHolder(self.run_info.flow_run_id, self.run_info.flow_run_name, str(ref),
                                self.run_info.commit)
            future = lock_instance.submit(label=str(ref), locks=quote(self.locks), instance=instance,
                                          holder=holder, take=self.mode != "plan",
                                          timeout_s=self.lock_timeout_s)
            future.add_done_callback(lambda f: self.events.put((ref, "lock", f)))
            return
        self._plan(ref)

    def _plan(self, ref: InstanceRef) -> None:
        self._submit(ref, "plan", self.plan_task, instance=self.instances[ref],
                     resolved_vars=self.resolved[ref], read_outputs=ref in self.output_parents,
                     destroy=self.mode == "destroy", custody=quote(self._custody(ref)))

    def _custody(self, ref: InstanceRef) -> StateCustody | None:
        """What terraform may do about the state lock of an instance whose stack lock we hold."""
        lease = self.leases.get(ref)
        if lease is None:
            return None

        def freed(lock: StateLockInfo, crashed: CrashedHolder) -> None:
            detail = f"terraform lock {lock.describe()} left by crashed {crashed.describe()}"
            get_run_logger().warning("%s: freed the state lock: %s", ref, detail)
            self.recorder.lock_event(ref, lease.name, "state-unlocked", detail=detail)

        return StateCustody(str(ref), lease, lease.crashed, on_freed=freed)

    def _on_lock(self, ref: InstanceRef, lease: Lease | None) -> None:
        if lease is not None:
            self.leases[ref] = lease
            self.recorder.lock_event(ref, lease.name, "taken", waited_s=lease.waited_s,
                                     detail=lease.address)
        self._plan(ref)

    def _on_plan(self, ref: InstanceRef, plan: PlanResult) -> None:
        self.plans[ref] = plan
        if plan.summary.has_changes:
            self.artifacts.add(ref, plan)
        instance = self.instances[ref]
        summary = plan.summary
        if summary.has_changes:
            self.changed.add(ref)
        if plan.outputs is not None:
            self.outputs[ref] = plan.outputs
        base = dict(add=summary.add, change=summary.change, destroy=summary.destroy,
                    attempts=plan.attempts, duration_s=plan.duration_s,
                    resources=[r.address for r in summary.resources])
        if not summary.has_changes:
            self._finish(StackOutcome(ref.stack, ref.component, "no changes", **base), ref)
        elif self.mode == "plan":
            provisional = any(a in self.changed for a in self.graph.ancestors(ref))
            reason = "planned; parent not applied yet" if provisional else "planned"
            self._finish(StackOutcome(ref.stack, ref.component, "succeeded", reason,
                                      provisional=provisional, **base), ref)
        elif instance.locked:
            self._finish(StackOutcome(ref.stack, ref.component, "skipped",
                                      "locked (metadata.locked): planned, not applied", **base), ref)
        elif self.approvals is not None and self.approvals.applies_to(instance):
            self.queue.park(ref)  # a gate waiting for a person holds no parallelism slot
            run_id = self.run_info.flow_run_id if self.run_info else ""
            future = await_approval.submit(
                label=str(ref), summary_markdown=summary_for_plan(str(ref), plan, run_id),
                timeout_s=self.approvals.timeout_s, poll_s=self.approvals.poll_s,
                parent_run_id=run_id)
            future.add_done_callback(lambda f: self.events.put((ref, "approval", f)))
        else:
            self._apply(ref)

    def _on_approval(self, ref: InstanceRef, decision: ApprovalDecision) -> None:
        plan = self.plans[ref]
        self.recorder.approval_decided(ref, decision.decision, decision.by, decision.reason,
                                       plan.plan_sha256)
        if decision.approved:
            self.queue.unpark(ref)
            self._apply(ref)
            return
        s = plan.summary
        self._finish(StackOutcome(ref.stack, ref.component, "skipped", str(decision),
                                  add=s.add, change=s.change, destroy=s.destroy,
                                  attempts=plan.attempts, duration_s=plan.duration_s,
                                  resources=[r.address for r in s.resources]), ref)

    def _apply(self, ref: InstanceRef) -> None:
        guard = None
        if self.locks is not None and self.run_info is not None and self.repo is not None:
            guard = ApplyGuard(self.locks, self.leases.get(ref), self.repo,
                               self.run_info.commit, self.run_info.flow_run_id)
        self._submit(ref, "apply", self.apply_task, instance=self.instances[ref],
                     plan=self.plans[ref], guard=quote(guard), custody=quote(self._custody(ref)))

    def _on_apply(self, ref: InstanceRef, result: ApplyResult) -> None:
        self.outputs[ref] = result.outputs
        self.applied[ref] = result
        command = validation_command(self.instances[ref]) if self.mode == "apply" else None
        if command and self.repo is not None:
            future = validate_instance.submit(label=str(ref), command=command, outputs=result.outputs,
                                              repo=str(self.repo), timeout_s=self.command_timeout_s)
            future.add_done_callback(lambda f: self.events.put((ref, "validate", f)))
            return
        self._applied(ref)

    def _applied(self, ref: InstanceRef) -> None:
        plan, result = self.plans[ref], self.applied[ref]
        s = plan.summary
        self._finish(
            StackOutcome(ref.stack, ref.component, "succeeded",
                         "destroyed" if self.mode == "destroy" else "applied",
                         add=s.add, change=s.change, destroy=s.destroy,
                         attempts=max(plan.attempts, result.attempts),
                         duration_s=plan.duration_s + result.duration_s,
                         resources=[r.address for r in s.resources]),
            ref,
        )

    def _read_external_outputs(self) -> None:
        """Outputs of parents outside this run (or, when destroying, of every parent) first."""
        wanted = sorted(p for p in self.output_parents
                        if p not in self.graph or self.mode == "destroy")
        futures = {p: read_instance_outputs.submit(label=str(p), steps=quote(self.steps),
                                                   instance=self.instances[p]) for p in wanted}
        for parent, future in futures.items():
            value = future.result(raise_on_failure=False)
            if isinstance(value, BaseException):
                self.unreadable[parent] = _error_line(value)
                get_run_logger().warning("outputs of %s unavailable: %s", parent, self.unreadable[parent])
            else:
                self.outputs[parent] = value

    def run(self) -> list[StackOutcome]:
        self.artifacts = PlanArtifacts()
        try:
            return self._run()
        finally:
            self.artifacts.close()
            # a run that ends early (an exception, a cancel) gives back every lock it still holds
            for lease in self.leases.values():
                if self.locks is not None:
                    self.locks.release(lease)
            self.leases.clear()

    def _run(self) -> list[StackOutcome]:
        self._read_external_outputs()
        while True:
            for ref in self.queue.pop_ready(self.parallelism - self.queue.running):
                self._start(ref)
            if self.queue.finished:
                break
            if self.queue.running == 0 and self.queue.waiting == 0:  # a bug, not a hang
                raise StackflowError("deploy queue stalled with pending instances")
            ref, step, future = self.events.get()
            value = future.result(raise_on_failure=False)
            if isinstance(value, BaseException):
                self._failed(ref, value)
            elif step == "stores":
                self._on_stores(ref, value)
            elif step == "lock":
                self._on_lock(ref, value)
            elif step == "approval":
                self._on_approval(ref, value)
            elif step == "plan":
                self._on_plan(ref, value)
            elif step == "apply":
                self._on_apply(ref, value)
            else:
                self._applied(ref)
        return [self.outcomes[ref] for ref in self.graph.order()]


def open_locks(settings: Settings) -> StackLocks | None:
    """State locks live on the Prefect server: with no server configured there is nothing to share."""
    from prefect.settings import PREFECT_API_URL

    if not settings.locks or not PREFECT_API_URL.value():
        return None
    return StackLocks(settings)


def run_graph(
    graph: DependencyGraph,
    instances: Mapping[InstanceRef, StackInstance],
    steps: InstanceSteps,
    *,
    mode: Mode = "apply",
    parallelism: int = 4,
    fail_fast: bool = False,
    retries: int = 0,
    retry_delay_s: float = 0.0,
    durations: Mapping[InstanceRef, float] | None = None,
    recorder: RunRecorder | None = None,
    repo: Path | None = None,
    command_timeout_s: float = 3600.0,
    locks: StackLocks | None = None,
    run_info: RunInfo | None = None,
    lock_timeout_s: float | None = None,
    approvals: ApprovalPolicy | None = None,
    stores: Mapping[str, StoreConfig] | None = None,
    store_reader: StoreReader | None = None,
    aws_reader: AwsFactReader | None = None,
    exec_runner: ExecRunner | None = None,
) -> list[StackOutcome]:
    """Run every instance of `graph` through `steps`, parents first (children first to destroy).

    Must be called inside a Prefect flow run; returns one outcome per instance, in graph order.
    """
    run_graph_ = graph.reversed() if mode == "destroy" else graph
    return _GraphRun(
        run_graph_, instances, steps, mode=mode, parallelism=parallelism, fail_fast=fail_fast,
        retries=retries, retry_delay_s=retry_delay_s, durations=durations,
        recorder=recorder or NullRecorder(), repo=repo, command_timeout_s=command_timeout_s,
        locks=locks, run_info=run_info, lock_timeout_s=lock_timeout_s, approvals=approvals,
        stores=stores, store_reader=store_reader, aws_reader=aws_reader, exec_runner=exec_runner,
    ).run()


@flow(name="stackflow-deploy", flow_run_name="{mode} {repo}")
def deploy(
    repo: str = "",
    stacks: list[str] | None = None,
    all_instances: bool = False,
    mode: Mode = "apply",
    parallelism: int | None = None,
    fail_fast: bool = False,
    trigger: str = "manual",
    started_by: str | None = None,
    retry_of: str | None = None,
    include_rejected: bool = False,
    lock_timeout_s: float | None = None,
    require_approval: bool = False,
    auto_approve: list[str] | None = None,
    base: str | None = None,
    head: str | None = None,
    affected_file: str | None = None,
    tags: list[str] | None = None,
    labels: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Plan (and apply) the selected instances of an Atmos-style repo in dependency order.

    With `retry_of` (a ledger run id, Prefect flow run id or name), only what that run left
    undone runs again, on the same commit; `repo` then defaults to that run's repo. `tags`
    (`a,b`: any of them) and `labels` (`k=v`: every one) narrow the selection by metadata.
    """
    from stackflow.tasks.ledger.recorder import default_started_by, open_recorder
    from stackflow.tasks.ledger.retry import prepare_retry

    settings = load_settings(parallelism=parallelism)
    recorder = open_recorder(settings)  # every result goes to the ledger as it happens
    if retry_of:
        if stacks or all_instances or tags or labels:
            raise ConfigError("retry_of chooses the instances itself: drop stacks/all_instances/tags/labels")
        retry = prepare_retry(recorder.ledger, retry_of, settings, repo=repo or None,
                              include_rejected=include_rejected)
        if mode != retry.mode:
            get_run_logger().warning("retry of run %s: using its mode %r, not %r",
                                     retry.previous.id, retry.mode, mode)
        repo_path, target, commit = retry.repo, retry.target, retry.commit
        mode = retry.mode  # type: ignore[assignment]  (a mode the ledger recorded)
        trigger, previous_run = "retry", str(retry.previous.id)
    else:
        if not repo:
            raise ConfigError("repo: give the path of the Atmos-style repo")
        repo_path = Path(repo).resolve()
        if base or head or affected_file:  # the change's affected instances (+ dependents)
            from stackflow.tasks.git import select_change

            target = select_change(repo_path, settings.environ(), base=base, head=head,
                                   affected_file=affected_file, allow_exec=settings.allow_exec)
        else:
            target = select_target(repo_path, settings.environ(), stacks or [],
                                   all_instances=all_instances, allow_exec=settings.allow_exec)
        target = narrow_target(target, parse_tag_filter(tags, labels))
        commit = head_commit(repo_path)
        previous_run = None
    run_id = str(flow_run_runtime.id or uuid.uuid4())
    steps = recorder.watch(TerraformSteps(repo_path, settings, run_id, commit,
                                          generate_backend=target.generate_backend), repo_path)
    check_auto_approve([target.instances[ref] for ref in target.graph.nodes], auto_approve or [])
    approval_policy = ApprovalPolicy(
        require_all=require_approval, auto_approve_stages=frozenset(auto_approve or []),
        timeout_s=settings.approval_timeout_s, poll_s=settings.approval_poll_s)
    run_info = RunInfo(
        flow_run_id=run_id, flow_run_name=str(flow_run_runtime.name or ""), repo=str(repo_path),
        commit=commit, mode=mode, trigger=trigger, started_by=started_by or default_started_by(),
        retry_of=previous_run, selection=[str(ref) for ref in target.graph.order()],
    )
    recorder.run_started(run_info)
    try:
        outcomes = run_graph(
            target.graph, target.instances, steps, mode=mode,
            parallelism=settings.parallelism, fail_fast=fail_fast,
            retries=settings.retries, retry_delay_s=settings.retry_delay_s, recorder=recorder,
            repo=repo_path, command_timeout_s=settings.command_timeout_s,
            locks=open_locks(settings), run_info=run_info, lock_timeout_s=lock_timeout_s,
            approvals=approval_policy, stores=target.stores,
            exec_runner=ExecRunner(repo_path, settings.environ(), settings.command_timeout_s),
        )
        for ref, why in sorted(target.excluded.items()):  # named by the selection, but disabled
            outcomes.append(StackOutcome(ref.stack, ref.component, "excluded", why))
            recorder.instance_finished(outcomes[-1])
        create_markdown_artifact(
            key="stackflow-deploy-summary",
            markdown=summary_markdown(outcomes, target.graph, mode=mode),
            description=f"stackflow {mode} of {repo_path.name}",
        )
    except Exception as exc:
        recorder.run_finished("failed", note=_error_line(exc))
        raise
    except BaseException as exc:  # interrupted or cancelled: the process is going away
        recorder.run_finished("crashed", note=_error_line(exc))
        raise
    failed = any(o.status == "failed" for o in outcomes)
    recorder.run_finished("failed" if failed else "succeeded")
    if failed:
        raise DeployFailed(outcomes)
    return [o.to_json() for o in outcomes]
