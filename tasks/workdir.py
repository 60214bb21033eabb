"""A private terraform work folder per instance, so the user's repo is never written to.

Layout under `<work_dir>/runs/<run_id>/<stack>/<component>/`:

    tree/<component_path>/   a copy of the component folder, plus the generated
                             backend.tf.json, providers_override.tf.json and tfvars file
    tree/...                 every other entry on the way up to the repo root is a symlink to the
                             original, so relative module sources (`../modules/x`) still resolve
    tfdata/                  TF_DATA_DIR (providers, modules, selected workspace)
    plan.tfplan              the plan file

Two instances of one component folder get two folders and never share a `.terraform`.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import StackInstance

# Never copied into a work folder: terraform's own data and state left behind by local runs.
_SKIP_NAMES = {".terraform", ".git", "terraform.tfstate", "terraform.tfstate.backup"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class InstanceWorkdir:
    """Paths of one instance's private work folder."""

    root: Path
    module_dir: Path  # where terraform runs (the copied component folder)
    data_dir: Path  # TF_DATA_DIR
    var_file: Path
    plan_file: Path
    component_key: str  # the component folder in the repo; instances of it share providers


def _safe(name: str) -> str:
    return _UNSAFE.sub("-", name).strip("-") or "_"


def instance_dir(work_dir: Path, run_id: str, instance: StackInstance) -> Path:
    return work_dir / "runs" / _safe(run_id) / _safe(instance.stack) / _safe(instance.component)


def var_file_name(instance: StackInstance) -> str:
    """Atmos names the generated varfile `<stack>-<component>.terraform.tfvars.json`."""
    return f"{_safe(instance.stack)}-{_safe(instance.component)}.terraform.tfvars.json"


def _copy_ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _SKIP_NAMES}


def _shadow_tree(repo: Path, component_path: str, tree: Path) -> Path:
    """Copy the component folder into `tree` and symlink its siblings on every level up."""
    rel = Path(component_path)
    if rel.is_absolute() or ".." in rel.parts:
        raise ConfigError(f"component path {component_path!r} is outside the repo")
    source = repo / rel
    if not source.is_dir():
        raise ConfigError(f"component folder {component_path!r} does not exist in {repo}")
    target = tree / rel
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=False, ignore=_copy_ignore)
    # Walk up: at each level, the entries other than the one on our path are linked, not copied.
    parts = rel.parts
    for depth in range(len(parts)):
        level_rel = Path(*parts[:depth]) if depth else Path(".")
        keep = parts[depth]
        for entry in (repo / level_rel).iterdir():
            if entry.name == keep or entry.name in _SKIP_NAMES:
                continue
            link = tree / level_rel / entry.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(entry.resolve())
    return target


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def prepare_workdir(
    instance: StackInstance,
    repo: Path,
    work_dir: Path,
    run_id: str,
    resolved_vars: dict[str, Any],
    *,
    generate_backend: bool = True,
) -> InstanceWorkdir:
    """Create (or refresh) the instance's work folder with the generated terraform files."""
    root = instance_dir(work_dir, run_id, instance)
    tree = root / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    module_dir = _shadow_tree(repo.resolve(), instance.component_path, tree)
    data_dir = root / "tfdata"
    data_dir.mkdir(exist_ok=True)

    if generate_backend and instance.backend_type:
        _write_json(
            module_dir / "backend.tf.json",
            {"terraform": {"backend": {instance.backend_type: instance.backend}}},
        )
    if instance.providers:
        _write_json(module_dir / "providers_override.tf.json", {"provider": instance.providers})
    var_file = module_dir / var_file_name(instance)
    _write_json(var_file, resolved_vars)
    return InstanceWorkdir(
        root=root,
        module_dir=module_dir,
        data_dir=data_dir,
        var_file=var_file,
        plan_file=root / "plan.tfplan",
        component_key=str((repo / instance.component_path).resolve()),
    )


def prepare_state_workdir(instance: StackInstance, work_dir: Path, run_id: str) -> InstanceWorkdir:
    """A work folder holding only the instance's backend, to read its state and nothing else.

    For an abstract instance, which stands for state deployed from elsewhere: its code may not be
    in this repo at all, and Atmos' `!terraform.state` reads such state from the backend alone.
    """
    if not instance.backend_type or instance.backend_type == "local":
        raise ConfigError(
            f"{instance.ref}: abstract, with {'a local' if instance.backend_type else 'no'} backend: stackflow reads "
            "the state of an abstract component only from a remote backend (set its backend_type and backend)"
        )
    root = instance_dir(work_dir, run_id, instance)
    module_dir = root / "state"
    module_dir.mkdir(parents=True, exist_ok=True)
    data_dir = root / "tfdata"
    data_dir.mkdir(exist_ok=True)
    _write_json(module_dir / "backend.tf.json", {"terraform": {"backend": {instance.backend_type: instance.backend}}})
    return InstanceWorkdir(
        root=root,
        module_dir=module_dir,
        data_dir=data_dir,
        var_file=module_dir / var_file_name(instance),  # never written: nothing is planned here
        plan_file=root / "plan.tfplan",
        component_key=f"state-only:{instance.backend_type}",  # no providers to share
    )


def remove_run_dirs(work_dir: Path, run_id: str) -> None:
    """Delete one run's work folders (symlinks are removed, never followed)."""
    path = work_dir / "runs" / _safe(run_id)
    if path.exists():
        shutil.rmtree(path)

