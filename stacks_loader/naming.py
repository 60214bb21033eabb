"""Stack names and Terraform workspaces, computed as Atmos computes them.

Stack name: the manifest's own `name:`, else `stacks.name_template`, else `stacks.name_pattern`
(when it lacks a var, as when it is unset:) else the manifest path without extension.
Workspace (`BuildTerraformWorkspace`): `metadata.terraform_workspace_template` > `_pattern` >
`terraform_workspace`, else the stack name,
suffixed with `-<component>` when the component points at another folder; `/` becomes `-`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig
from .templates import TemplateError, render

SAFE_STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
SAFE_COMPONENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(?:/[A-Za-z0-9_][A-Za-z0-9._-]*)*\Z")
SAFE_WORKSPACE = re.compile(r"[A-Za-z0-9._-]+\Z")
CONTEXT_VARS = ("namespace", "tenant", "environment", "stage", "region")


def context_value(value: Any) -> str:
    """A context var as text (`""` when unset or not a scalar)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return ""


def context_from_vars(vars_: dict[str, Any]) -> dict[str, str]:
    """The Atmos context (`namespace`, `tenant`, …) read from an instance's vars."""
    out: dict[str, str] = {}
    for key in CONTEXT_VARS:
        text = context_value(vars_.get(key))
        if text:
            out[key] = text
    attributes = vars_.get("attributes")
    if isinstance(attributes, list):
        out["attributes"] = "-".join(str(a) for a in attributes)
    return out


@lru_cache(maxsize=16)
def _pattern_keys(pattern: str) -> tuple[str, ...]:
    return tuple(token[1:-1] for token in pattern.split("-"))


def stack_name(
    atmos: AtmosConfig,
    manifest_name: str | None,
    stack_file: str,
    component: str,
    section: dict[str, Any],
    where: str,
    warn: Callable[[str], None] | None = None,
) -> str:
    """The stack an instance belongs to; `where` is the manifest (repo-relative) for errors."""
    if manifest_name:
        name, origin = manifest_name, "'name'"
    elif atmos.name_template:
        try:
            name = render(atmos.name_template, section)
        except TemplateError as exc:
            raise ConfigError(
                f"{where}: component {component!r}: cannot build the stack name from "
                f"stacks.name_template in {atmos.config_file}: {exc}"
            ) from None
        origin = "stacks.name_template"
    elif atmos.name_pattern:
        vars_ = section.get("vars") or {}
        parts = []
        for key in _pattern_keys(atmos.name_pattern):
            text = context_value(vars_.get(key))
            if not text:
                return _named_by_file(atmos, stack_file, component, key, where, warn)
            parts.append(text)
        name, origin = "-".join(parts), "stacks.name_pattern"
    else:
        name = manifest_stem(stack_file)
        if "/" in name:
            raise ConfigError(
                f"{where}: stack name {name!r} (from the file path) contains '/'; set "
                f"stacks.name_pattern or stacks.name_template in {atmos.config_file}, or 'name:' in the manifest"
            )
        origin = "the file name"
    if not SAFE_STACK_NAME.match(name):
        raise ConfigError(
            f"{where}: stack name {name!r} (from {origin}) has characters unsafe for paths and "
            "workspaces; use letters, digits, '.', '_' and '-'"
        )
    return name


def _named_by_file(atmos: AtmosConfig, stack_file: str, component: str, key: str, where: str,
                   warn: Callable[[str], None] | None) -> str:
    """The stack name when `stacks.name_pattern` lacks a var: as Atmos' describe stacks (and so
    describe affected), the manifest's path; refused when that holds `/`, as any name would be."""
    name = manifest_stem(stack_file)
    why = f"stacks.name_pattern {atmos.name_pattern!r}: var {key!r} is not set"
    if "/" in name or not SAFE_STACK_NAME.match(name):
        raise ConfigError(
            f"{where}: component {component!r}: cannot build the stack name from {why}, and the file path Atmos "
            f"falls back to, {name!r}, is not a safe stack name (set the var, or 'name:' in the manifest)"
        )
    if warn is not None:
        warn(f"{where}: stack named {name!r} after its file, as Atmos names it: {why}")
    return name


def workspace(
    atmos: AtmosConfig,
    stack: str,
    component: str,
    folder: str,
    backend_type: str,
    metadata: dict[str, Any],
    section: dict[str, Any],
    where: str,
) -> str:
    if not atmos.workspaces_enabled or backend_type == "http":
        return "default"
    base_component = folder.rsplit("/", 1)[-1] if folder != component else ""
    explicit = metadata.get("terraform_workspace")
    template = metadata.get("terraform_workspace_template") if explicit is None else None
    pattern = metadata.get("terraform_workspace_pattern") if explicit is None else None
    if template:
        try:
            name = render(template, section)
        except TemplateError as exc:
            raise ConfigError(
                f"{where}: stack {stack!r} component {component!r}: metadata.terraform_workspace_template: {exc}"
            ) from None
    elif pattern:
        tokens = {f"{{{k}}}": v for k, v in context_from_vars(section.get("vars") or {}).items()}
        tokens.update({"{component}": component, "{base-component}": base_component})
        name = re.sub(r"\{[a-z_-]+\}", lambda m: tokens.get(m.group(0), m.group(0)), pattern)
        left = re.findall(r"\{[a-z_-]+\}", name)
        if left:
            raise ConfigError(
                f"{where}: stack {stack!r} component {component!r}: "
                f"metadata.terraform_workspace_pattern {pattern!r}: {left[0]} is not set"
            )
    elif explicit is not None:
        name = explicit
    elif not base_component:
        name = stack
    else:
        name = f"{stack}-{component}"
    name = name.replace("/", "-")
    if not SAFE_WORKSPACE.match(name):
        raise ConfigError(
            f"{where}: stack {stack!r} component {component!r}: workspace {name!r} has unsafe characters"
        )
    return name


def manifest_stem(stack_file: str) -> str:
    """A stack manifest's path without its extension: Atmos' `atmos_stack_file` / `atmos_manifest`."""
    return _MANIFEST_EXTENSION.sub("", stack_file)


_MANIFEST_EXTENSION = re.compile(r"\.(yaml|yml)(\.tmpl)?\Z")
