"""The side effects one instance goes through, behind one interface the deploy flow calls.

`TerraformSteps` runs real terraform and keeps plans in the plan store; tests and benchmarks pass
other implementations so the flow's ordering is proven in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from stackflow.settings import Settings
from stackflow.stacks_loader.fingerprint import config_fingerprint
from stackflow.stacks_loader.model import StackInstance
from stackflow.tasks.plan_store import PlanStore, StoredPlan
from stackflow.tasks.terraform import ApplyResult, PlanResult, apply_stack, plan_stack, read_stack_outputs


class InstanceSteps(Protocol):
    def plan(
        self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool, destroy: bool
    ) -> PlanResult: ...

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult: ...

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]: ...


class TerraformSteps:
    """Real terraform for every step; plans go through the plan store with their checksum."""

    def __init__(
        self,
        repo: Path,
        settings: Settings,
        run_id: str,
        commit: str,
        *,
        generate_backend: bool = True,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.run_id = run_id
        self.commit = commit
        self.generate_backend = generate_backend
        self.store = PlanStore(settings.resolved_plan_store())
        self._stored: dict[str, StoredPlan] = {}

    def plan(
        self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool, destroy: bool
    ) -> PlanResult:
        result = plan_stack(
            instance, self.repo, self.run_id, resolved_vars, self.settings,
            destroy=destroy, read_outputs=read_outputs, generate_backend=self.generate_backend,
        )
        if result.summary.has_changes:
            fingerprint = config_fingerprint(instance, resolved_vars)
            key = f"{self.run_id}/{instance.stack}/{instance.component}"
            stored = self.store.put(
                result.plan_file, key, instance=str(instance.ref),
                commit=self.commit, config_hash=fingerprint,
            )
            result.plan_uri = stored.uri
            result.plan_sha256 = stored.sha256
            self._stored[str(instance.ref)] = stored
        return result

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult:
        stored = self._stored[str(instance.ref)]
        assert plan.workdir is not None
        verified = self.store.fetch(
            stored, plan.workdir.root / "verified.tfplan", commit=self.commit,
            config_hash=config_fingerprint(instance, plan.resolved_vars),
        )
        return apply_stack(instance, plan, verified, self.settings)

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]:
        return read_stack_outputs(instance, self.repo, self.run_id, self.settings)
