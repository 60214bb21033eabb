"""Run terraform (or tofu) for one instance: init, workspace, plan, show, apply, output.

Plain functions with one side effect each (running terraform); the flow wraps them as Prefect
tasks. Every failure becomes a `TerraformError` naming the instance, the command and the last
error lines, marked `transient` when it matches one of the configured retryable patterns.
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackflow.errors import TerraformError
from stackflow.settings import Settings
from stackflow.stacks_loader.model import StackInstance

from stackflow.tasks.workdir import InstanceWorkdir, prepare_workdir

_ERROR_LINES = 6
# component folders whose providers this process has already put in the plugin cache
_warmed: set[str] = set()


@dataclass(frozen=True)
class ResourceChange:
    address: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class PlanSummary:
    """What a plan would do, from `terraform show -json PLANFILE`."""

    add: int = 0
    change: int = 0
    destroy: int = 0
    resources: tuple[ResourceChange, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.change or self.destroy)

    @classmethod
    def from_plan_json(cls, doc: Mapping[str, Any]) -> "PlanSummary":
        add = change = destroy = 0
        resources: list[ResourceChange] = []
        for rc in doc.get("resource_changes") or []:
            actions = tuple(rc.get("change", {}).get("actions") or ())
            if actions in (("no-op",), ("read",)):
                continue
            add += "create" in actions
            destroy += "delete" in actions
            change += actions == ("update",)
            resources.append(ResourceChange(rc.get("address", "?"), actions))
        return cls(add, change, destroy, tuple(resources))


@dataclass
class PlanResult:
    """A finished plan of one instance."""

    instance: str
    summary: PlanSummary
    duration_s: float
    resolved_vars: dict[str, Any] = field(default_factory=dict)
    plan_file: Path | None = None
    workdir: InstanceWorkdir | None = None
    plan_uri: str = ""
    plan_sha256: str = ""
    attempts: int = 1
    # the instance's current outputs (from state), read only when a child needs them
    outputs: dict[str, Any] | None = None


@dataclass
class ApplyResult:
    """A finished apply of one instance, with its outputs after the apply."""

    instance: str
    outputs: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    attempts: int = 1


_ERRORISH = re.compile(r"(?i)\berror\b|\bfailed\b")


def _error_excerpt(stderr: str, stdout: str) -> str:
    """The lines that explain a failure: from terraform's first error line, box drawing removed."""
    lines = [ln.strip("│╷╵ ").rstrip() for ln in stderr.splitlines() if ln.strip("│╷╵ \t")]
    for marker in (lambda ln: ln.startswith("Error"), _ERRORISH.search):
        for i, line in enumerate(lines):
            if marker(line):
                return "\n".join(lines[i : i + _ERROR_LINES])
    tail = lines or [ln for ln in stdout.splitlines() if ln.strip()]
    return "\n".join(tail[-_ERROR_LINES:])


class Terraform:
    """One instance's terraform, bound to its work folder."""

    def __init__(
        self,
        instance: StackInstance,
        workdir: InstanceWorkdir,
        settings: Settings,
        environ: Mapping[str, str],
    ) -> None:
        self.label = str(instance.ref)
        self.workdir = workdir
        self.settings = settings
        self.binary = settings.terraform_bin
        self._patterns = [re.compile(p, re.IGNORECASE) for p in settings.transient_patterns]
        env = {k: v for k, v in environ.items() if k != "TF_WORKSPACE"}
        env.update({str(k): _env_value(v) for k, v in instance.env.items()})
        env.update(
            TF_DATA_DIR=str(workdir.data_dir),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
        )
        self.env = env

    def run(self, command: str, *args: str, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
        argv = [self.binary, command, *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.workdir.module_dir,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.settings.command_timeout_s,
            )
        except FileNotFoundError:
            raise TerraformError(
                self.label, command, 127,
                f"terraform binary {self.binary!r} not found (set STACKFLOW_TERRAFORM_BIN)",
            ) from None
        except subprocess.TimeoutExpired:
            raise TerraformError(
                self.label, command, 124,
                f"timed out after {self.settings.command_timeout_s:g}s",
            ) from None
        if proc.returncode not in ok:
            err = TerraformError(
                self.label, command, proc.returncode, _error_excerpt(proc.stderr, proc.stdout)
            )
            # terraform wraps long diagnostics: match over the text with its line breaks folded
            folded = " ".join(proc.stderr.split())
            err.transient = any(p.search(folded) for p in self._patterns)
            raise err
        return proc

    def init(self) -> None:
        # Terraform's plugin cache is not safe for concurrent writers. The first init of a
        # component folder (in this process) takes a lock shared by every process, and fills the
        # cache with the providers that folder needs; later inits of that folder only read it.
        key = self.workdir.component_key
        if key in _warmed:
            self.run("init", "-input=false", "-no-color")
            return
        with _file_lock(self.settings.resolved_work_dir() / ".terraform-init.lock"):
            self.run("init", "-input=false", "-no-color")
        _warmed.add(key)

    def select_workspace(self, name: str) -> None:
        if name == "default":
            return
        try:
            self.run("workspace", "select", "-no-color", name)
        except TerraformError:
            self.run("workspace", "new", "-no-color", name)

    def plan(self, *, destroy: bool = False) -> bool:
        """Plan to the work folder's plan file; True when the plan has changes."""
        args = [
            "-input=false", "-no-color", "-detailed-exitcode",
            f"-var-file={self.workdir.var_file.name}",
            f"-out={self.workdir.plan_file}",
        ]
        if destroy:
            args.append("-destroy")
        return self.run("plan", *args, ok=(0, 2)).returncode == 2

    def show_plan(self) -> PlanSummary:
        proc = self.run("show", "-json", "-no-color", str(self.workdir.plan_file))
        return PlanSummary.from_plan_json(json.loads(proc.stdout))

    def apply(self, plan_file: Path) -> None:
        self.run("apply", "-input=false", "-no-color", str(plan_file))

    def outputs(self) -> dict[str, Any]:
        proc = self.run("output", "-json", "-no-color")
        return {name: item.get("value") for name, item in json.loads(proc.stdout or "{}").items()}


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by threads and processes (flock is per open file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def plan_stack(
    instance: StackInstance,
    repo: Path,
    run_id: str,
    resolved_vars: dict[str, Any],
    settings: Settings,
    *,
    destroy: bool = False,
    read_outputs: bool = False,
    generate_backend: bool = True,
) -> PlanResult:
    """Prepare the instance's work folder, init, select its workspace and plan to a file."""
    started = time.monotonic()
    workdir = prepare_workdir(
        instance, repo, settings.resolved_work_dir(), run_id, resolved_vars,
        generate_backend=generate_backend,
    )
    tf = Terraform(instance, workdir, settings, settings.environ())
    tf.init()
    tf.select_workspace(instance.workspace)
    # -detailed-exitcode 0 means no changes: no need to read the plan back.
    summary = tf.show_plan() if tf.plan(destroy=destroy) else PlanSummary()
    outputs = tf.outputs() if read_outputs else None
    return PlanResult(
        instance=str(instance.ref),
        summary=summary,
        duration_s=time.monotonic() - started,
        resolved_vars=resolved_vars,
        plan_file=workdir.plan_file,
        workdir=workdir,
        outputs=outputs,
    )


def apply_stack(
    instance: StackInstance,
    plan: PlanResult,
    plan_file: Path,
    settings: Settings,
) -> ApplyResult:
    """Apply exactly the given (verified) plan file, then read the instance's outputs."""
    started = time.monotonic()
    assert plan.workdir is not None, "apply needs the work folder its plan was made in"
    tf = Terraform(instance, plan.workdir, settings, settings.environ())
    tf.apply(plan_file)
    outputs = tf.outputs()
    return ApplyResult(
        instance=str(instance.ref), outputs=outputs, duration_s=time.monotonic() - started
    )


def read_stack_outputs(
    instance: StackInstance, repo: Path, run_id: str, settings: Settings
) -> dict[str, Any]:
    """The instance's current outputs from its state, without planning it."""
    workdir = prepare_workdir(instance, repo, settings.resolved_work_dir(), run_id, {})
    tf = Terraform(instance, workdir, settings, settings.environ())
    tf.init()
    tf.select_workspace(instance.workspace)
    return tf.outputs()
