"""Run a stage's validation command (`settings.stackflow.validate`) after an apply."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError


class ValidationError(StackflowError):
    """The validation command of an applied instance failed."""


def _env_name(output: str) -> str:
    return "TF_OUTPUT_" + re.sub(r"[^A-Za-z0-9]", "_", output).upper()


def run_validation(
    command: str,
    instance_label: str,
    outputs: Mapping[str, Any],
    repo: Path,
    environ: Mapping[str, str],
    timeout_s: float,
) -> None:
    """Run `command` in the repo with the instance's outputs in its environment.

    Each output is `TF_OUTPUT_<NAME>` (strings as is, other values as JSON), all of them are
    `STACKFLOW_OUTPUTS` (JSON); `STACKFLOW_INSTANCE` names the instance.
    """
    env = dict(environ)
    env["STACKFLOW_INSTANCE"] = instance_label
    env["STACKFLOW_OUTPUTS"] = json.dumps(dict(outputs), default=str)
    for name, value in outputs.items():
        env[_env_name(name)] = value if isinstance(value, str) else json.dumps(value, default=str)
    try:
        proc = subprocess.run(["/bin/sh", "-c", command], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ValidationError(f"{instance_label}: validation timed out after {timeout_s:g}s: {command}") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()][-3:]
        raise ValidationError(
            f"{instance_label}: validation failed (exit {proc.returncode}): {command}: " + " | ".join(lines)
        )
