"""Learn a run's secret values as it goes, so the ledger's redactor knows them before any error.

Terraform marks variables and outputs `sensitive = true` in the component's code; their values
(and those of variables named like secrets) are handed to the `Redactor` the moment the flow has
them: a variable's value before its plan starts, an output's value as soon as it is read.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .redact import Redactor

if TYPE_CHECKING:
    from stackflow.flows.steps import InstanceSteps
    from stackflow.stacks_loader.model import StackInstance
    from stackflow.tasks.terraform import ApplyResult, PlanResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SensitiveNames:
    """Names a component's root module declares `sensitive = true`."""

    variables: frozenset[str] = frozenset()
    outputs: frozenset[str] = frozenset()


def _unquote(name: str) -> str:
    return name.strip('"')


def _marked(blocks: list[dict[str, Any]]) -> frozenset[str]:
    names = set()
    for block in blocks:
        for name, body in block.items():
            if isinstance(body, dict) and body.get("sensitive") in (True, "true"):
                names.add(_unquote(name))
    return frozenset(names)


@functools.lru_cache(maxsize=512)
def sensitive_names(component_dir: Path) -> SensitiveNames:
    """Parse the component's `*.tf` files; unreadable files count as declaring nothing."""
    import hcl2

    variables: set[str] = set()
    outputs: set[str] = set()
    for path in sorted(component_dir.glob("*.tf")):
        try:
            doc = hcl2.loads(path.read_text())
        except Exception as exc:  # a parse problem must not stop a deploy; terraform will say
            log.debug("cannot parse %s for sensitive declarations: %s", path, exc)
            continue
        variables |= _marked(doc.get("variable", []))
        outputs |= _marked(doc.get("output", []))
    return SensitiveNames(frozenset(variables), frozenset(outputs))


class SensitiveWatch:
    """`InstanceSteps` that feeds each instance's sensitive values to a redactor, then delegates."""

    def __init__(self, inner: InstanceSteps, redactor: Redactor, repo: Path) -> None:
        self.inner = inner
        self.redactor = redactor
        self.repo = repo

    def _names(self, instance: StackInstance) -> SensitiveNames:
        return sensitive_names((self.repo / instance.component_path).resolve())

    def _outputs(self, instance: StackInstance, outputs: dict[str, Any] | None) -> None:
        if outputs:
            self.redactor.add_named(outputs, self._names(instance).outputs)

    def plan(self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool,
             destroy: bool) -> PlanResult:
        self.redactor.add_named(resolved_vars, self._names(instance).variables)
        self.redactor.add_named({str(k): v for k, v in instance.env.items()})
        result = self.inner.plan(instance, resolved_vars, read_outputs=read_outputs, destroy=destroy)
        self._outputs(instance, result.outputs)
        return result

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult:
        result = self.inner.apply(instance, plan)
        self._outputs(instance, result.outputs)
        return result

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]:
        outputs = self.inner.read_outputs(instance)
        self._outputs(instance, outputs)
        return outputs
