"""A drop-in for `TerraformSteps` that follows a script instead of running terraform.

The script is JSON in `$STACKFLOW_TEST_SCRIPT` (so a child process can be given one too):
  {"fail": ["dev/b"], "durations": {"dev/c": 60}, "log": "/tmp/x/steps.log",
   "markers": "/tmp/x/markers", "echo_vars": true}
Every step appends `<step> <instance>` to the log file; `markers` gets a file per plan started;
`echo_vars` puts the resolved vars into the failure message, as terraform sometimes does.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from stackflow.errors import TerraformError
from stackflow.stacks_loader.model import StackInstance
from stackflow.tasks.terraform import ApplyResult, PlanResult, PlanSummary

SCRIPT_ENV = "STACKFLOW_TEST_SCRIPT"


def write_script(**script: Any) -> str:
    return json.dumps(script)


def read_log(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()]  # type: ignore[misc]


class ScriptedSteps:
    def __init__(self, repo: Path, settings: Any, run_id: str, commit: str, *,
                 generate_backend: bool = True) -> None:
        self.script = json.loads(os.environ.get(SCRIPT_ENV) or "{}")

    def _log(self, step: str, name: str) -> None:
        if self.script.get("log"):
            with open(self.script["log"], "a") as handle:
                handle.write(f"{step} {name}\n")

    def plan(self, instance: StackInstance, resolved_vars: dict[str, Any], *, read_outputs: bool,
             destroy: bool) -> PlanResult:
        name = str(instance.ref)
        started = time.monotonic()
        if self.script.get("markers"):
            marker = Path(self.script["markers"]) / name.replace("/", "__")
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        self._log("plan", name)
        time.sleep(float(self.script.get("durations", {}).get(name, 0.0)))
        if name in self.script.get("fail", []):
            detail = "Error: invalid CIDR block"
            if self.script.get("echo_vars"):
                detail += f"\n  with vars {json.dumps(resolved_vars, sort_keys=True)}"
            raise TerraformError(name, "plan", 1, detail)
        result = PlanResult(name, PlanSummary(add=1), time.monotonic() - started,
                            resolved_vars=resolved_vars,
                            outputs={"id": name} if read_outputs else None)
        result.plan_sha256 = f"sha-{name}"
        return result

    def apply(self, instance: StackInstance, plan: PlanResult) -> ApplyResult:
        self._log("apply", str(instance.ref))
        return ApplyResult(str(instance.ref), {"id": str(instance.ref)}, duration_s=0.01)

    def read_outputs(self, instance: StackInstance) -> dict[str, Any]:
        return {"id": str(instance.ref)}
