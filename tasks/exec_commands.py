"""Running the commands of `!exec` values (one side effect: a shell command per value).

Only when `STACKFLOW_ALLOW_EXEC` is set does the loader keep `!exec` values; this runs each one
with `sh -c` in the repository, with stackflow's environment, as the instance starts (Atmos runs
them in its shell from the folder it runs in). Each command runs once per instance start; its
standard output becomes the value (`stacks_loader/exec_values.py`). A command that fails or
times out fails the instance in one line naming the file and the command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackflow.errors import StackflowError
from stackflow.stacks_loader.exec_values import decode_exec_output
from stackflow.stacks_loader.model import ExecRef


class ExecCommandError(StackflowError):
    """An `!exec` command failed, timed out or could not start."""


@dataclass(frozen=True)
class ExecRunner:
    """Runs `!exec` commands in `cwd` with `environ`, each for at most `timeout_s` seconds."""

    cwd: Path
    environ: Mapping[str, str]
    timeout_s: float = 600.0

    def run(self, refs: Iterable[ExecRef], instance: str) -> dict[ExecRef, Any]:
        """Every command's output, decoded; the first failure is an `ExecCommandError`."""
        return {ref: self._run(ref, instance) for ref in sorted(refs, key=lambda r: (r.source_file, r.command))}

    def _run(self, ref: ExecRef, instance: str) -> Any:
        where = f"{instance}: {ref.source_file}: {ref}"
        try:
            done = subprocess.run(["sh", "-c", ref.command], cwd=self.cwd, env=dict(self.environ),
                                  capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ExecCommandError(f"{where}: timed out after {self.timeout_s:g}s") from None
        except OSError as exc:
            raise ExecCommandError(f"{where}: could not run: {exc.strerror or exc}") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            said = f": {lines[-1].strip()}" if lines else ""
            raise ExecCommandError(f"{where}: exited with {done.returncode}{said}")
        return decode_exec_output(done.stdout)
