"""Instance steps that record what ran and when, so graph ordering is tested without terraform."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from stackflow.errors import TerraformError
from stackflow.stacks_loader.model import Dependency, InstanceRef, StackInstance
from stackflow.tasks.terraform import ApplyResult, PlanResult, PlanSummary


def make_instances(edges: dict[str, list[str]]) -> dict[InstanceRef, StackInstance]:
    """`{"s/child": ["s/parent", ...]}` → instances with settings.depends_on edges."""
    names = set(edges) | {p for parents in edges.values() for p in parents}
    out = {}
    for name in sorted(names):
        ref = InstanceRef.parse(name)
        deps = [Dependency(InstanceRef.parse(p), "settings.depends_on") for p in edges.get(name, [])]
        out[ref] = StackInstance(ref.stack, ref.component, f"components/terraform/{ref.component}",
                                 "test.yaml", dependencies=deps)
    return out


@dataclass
class FakeSteps:
    """Sleeps `durations[name]` per step; fails instances in `fail` (transient ones `flaky` times)."""

    durations: dict[str, float] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    flaky: dict[str, int] = field(default_factory=dict)
    changes: bool = True
    events: list[tuple[str, str, float, float]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, step: str, name: str, started: float) -> None:
        with self._lock:
            self.events.append((step, name, started, time.monotonic()))

    def plan(self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool,
             destroy: bool) -> PlanResult:
        name = str(instance.ref)
        started = time.monotonic()
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
            attempt = self.calls[name]
        time.sleep(self.durations.get(name, 0.0))
        self._record("plan", name, started)
        if name in self.fail:
            raise TerraformError(name, "plan", 1, "Error: invalid CIDR block")
        if attempt <= self.flaky.get(name, 0):
            err = TerraformError(name, "plan", 1, "Error: RequestLimitExceeded: slow down")
            err.transient = True
            raise err
        return PlanResult(name, PlanSummary(add=1 if self.changes else 0), time.monotonic() - started,
                          resolved_vars=resolved_vars, outputs={"id": name} if read_outputs else None)

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult:
        name = str(instance.ref)
        started = time.monotonic()
        self._record("apply", name, started)
        return ApplyResult(name, {"id": name})

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]:
        self._record("outputs", str(instance.ref), time.monotonic())
        return {"id": str(instance.ref)}

    def ran(self, step: str = "plan") -> list[str]:
        return [name for s, name, *_ in self.events if s == step]

    def window(self, name: str) -> tuple[float, float]:
        spans = [(a, b) for s, n, a, b in self.events if n == name]
        return min(a for a, _ in spans), max(b for _, b in spans)


@dataclass
class RecordingSteps(FakeSteps):
    """`FakeSteps` that keep the vars each instance was planned with (`planned["s/a"]`)."""

    planned: dict[str, dict[str, Any]] = field(default_factory=dict)

    def plan(self, instance: StackInstance, resolved_vars: dict[str, Any], **kw: Any) -> PlanResult:
        self.planned[str(instance.ref)] = resolved_vars
        return super().plan(instance, resolved_vars, **kw)
