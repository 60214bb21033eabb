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

from stackflow.stacks_loader.model import StackInstance
from stackflow.tasks.state_lock import (
    StateCustody,
    StateLockInfo,
    current_custody,
    parse_state_lock,
    run_still_running,
    why_not_free,
)
from stackflow.tasks.workdir import InstanceWorkdir, prepare_state_workdir, prepare_workdir

from stackflow.errors import StackflowError, TerraformError
from stackflow.settings import Settings

_ERROR_LINES = 6
_POLL_S = 0.5  # how often a running command checks its stack lock and deadline
# after SIGTERM, terraform finishes the operations in flight and saves state; then it is killed
_INTERRUPT_GRACE_S = 120.0
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
        custody = current_custody()
        proc = self._execute(command, args, custody)
        if proc.returncode not in ok:
            lock = parse_state_lock(proc.stderr)
            if lock is not None and custody is not None and self._free_left_behind(lock, custody):
                proc = self._execute(command, args, custody)
        if proc.returncode not in ok:
            raise self._error(command, proc, custody)
        return proc

    def _execute(self, command: str, args: Sequence[str],
                 custody: StateCustody | None) -> subprocess.CompletedProcess[str]:
        """Run terraform; stop it gracefully when the stack lock is lost or the command times out,
        so that it finishes the operation in flight, saves its state and releases its lock."""
        argv = [self.binary, command, *args]
        try:
            child = subprocess.Popen(argv, cwd=self.workdir.module_dir, env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise TerraformError(
                self.label, command, 127,
                f"terraform binary {self.binary!r} not found (set STACKFLOW_TERRAFORM_BIN)",
            ) from None
        deadline = time.monotonic() + self.settings.command_timeout_s
        interrupted: str | None = None
        kill_at = give_up_at = float("inf")
        stdout = stderr = ""
        while True:
            try:
                stdout, stderr = child.communicate(timeout=_POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if interrupted is None:
                lost = custody.lost() if custody is not None else None
                if lost is not None:
                    interrupted = f"interrupted: the stack lock was lost ({lost})"
                elif now >= deadline:
                    interrupted = f"timed out after {self.settings.command_timeout_s:g}s"
                if interrupted is not None:
                    # SIGTERM, not SIGINT: terraform's outer process (panicwrap) ignores SIGINT,
                    # which a terminal sends to the whole group, and forwards SIGTERM, which both
                    # terraform and tofu treat as a graceful shutdown
                    child.terminate()
                    kill_at = now + _INTERRUPT_GRACE_S
            elif now >= kill_at:
                child.kill()
                kill_at, give_up_at = float("inf"), now + 10.0
            elif now >= give_up_at:
                # killed, but a grandchild (a provisioner) still holds the pipes: stop reading
                for pipe in (child.stdout, child.stderr):
                    if pipe is not None:
                        pipe.close()
                child.wait()
                break
        if interrupted is not None:
            raise TerraformError(self.label, command, 124 if "timed out" in interrupted else 130,
                                 interrupted + "; " + _error_excerpt(stderr or "", stdout or ""))
        return subprocess.CompletedProcess(argv, child.returncode, stdout, stderr)

    def _free_left_behind(self, lock: StateLockInfo, custody: StateCustody) -> bool:
        """Free terraform's state lock if the crashed previous holder left it; True if freed."""
        if custody.crashed is None or self._why_kept(lock, custody) is not None:
            return False
        proc = self._execute("force-unlock", ("-force", lock.id), custody)
        if proc.returncode != 0:
            raise TerraformError(self.label, "force-unlock", proc.returncode,
                                 f"could not free the state lock {lock.describe()} left by "
                                 f"crashed {custody.crashed.describe()}: "
                                 + _error_excerpt(proc.stderr, proc.stdout))
        if custody.on_freed is not None:
            custody.on_freed(lock, custody.crashed)
        return True

    def _why_kept(self, lock: StateLockInfo, custody: StateCustody | None) -> str | None:
        work_dir = self.settings.resolved_work_dir()
        return why_not_free(lock, custody.crashed if custody is not None else None,
                            still_running=lambda crashed: run_still_running(crashed, work_dir))

    def _error(self, command: str, proc: subprocess.CompletedProcess[str],
               custody: StateCustody | None) -> TerraformError:
        lock = parse_state_lock(proc.stderr)
        if lock is not None:
            # None here: the lock was freed once, and terraform found it taken again
            why = self._why_kept(lock, custody) or "it was taken again after being freed"
            detail = (f"the state is locked by terraform: {lock.describe()}; not freed because "
                      f"{why}; once nothing runs terraform on it, free it with: "
                      f"stackflow unlock {self.label} --state-lock {lock.id}")
        else:
            detail = _error_excerpt(proc.stderr, proc.stdout)
        err = TerraformError(self.label, command, proc.returncode, detail)
        # terraform wraps long diagnostics: match over the text with its line breaks folded
        folded = " ".join(proc.stderr.split())
        err.transient = any(p.search(folded) for p in self._patterns)
        return err

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
    """The instance's current outputs from its state, without planning it.

    An abstract instance is never deployed from here: its state is read from its backend alone,
    in a folder with nothing else, and a workspace that does not exist is an error, never created.
    """
    if instance.abstract:
        tf = Terraform(instance, prepare_state_workdir(instance, settings.resolved_work_dir(), run_id),
                       settings, settings.environ())
        tf.init()
        if instance.workspace != "default":
            try:
                tf.run("workspace", "select", "-no-color", instance.workspace)
            except TerraformError:
                raise StackflowError(f"{instance.ref}: abstract, and its {instance.backend_type} backend has no "
                                     f"workspace {instance.workspace!r}: no state to read") from None
        return tf.outputs()
    workdir = prepare_workdir(instance, repo, settings.resolved_work_dir(), run_id, {})
    tf = Terraform(instance, workdir, settings, settings.environ())
    tf.init()
    tf.select_workspace(instance.workspace)
    return tf.outputs()


def force_unlock_state(
    instance: StackInstance, repo: Path, run_id: str, lock_id: str, settings: Settings
) -> None:
    """`terraform force-unlock` the instance's state lock `lock_id` (a person decided to)."""
    workdir = prepare_workdir(instance, repo, settings.resolved_work_dir(), run_id, {})
    tf = Terraform(instance, workdir, settings, settings.environ())
    tf.init()
    tf.select_workspace(instance.workspace)
    tf.run("force-unlock", "-force", lock_id)
