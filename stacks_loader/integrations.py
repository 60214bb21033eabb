"""The names Atmos gives an instance in Spacelift and Atlantis: the `spacelift_stack` and
`atlantis_project` fields of `describe affected` and `describe dependents`.

As Atmos' `BuildSpaceliftStackNameFromComponentConfig` / `BuildAtlantisProjectNameFromComponentConfig`
read them: from the instance's resolved vars and settings only, so the context tokens of the
component section (`{base-component}`, `{component-path}`, `{workspace}`) are empty there.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig
from .naming import context_from_vars
from .templates import TemplateError, render

_TOKENS = ("{base-component}", "{component}", "{component-path}", "{namespace}", "{environment}", "{region}",
           "{tenant}", "{stage}", "{workspace}", "{terraform_workspace}", "{attributes}")
_TOKEN = re.compile("|".join(re.escape(token) for token in _TOKENS))
_PREFIX_TOKENS = ("{namespace}", "{tenant}", "{environment}", "{stage}")


class NamedInstance(Protocol):
    """What the names are built from: a `StackInstance`, or one still being resolved."""

    stack: str
    component: str
    stack_file: str
    vars: dict[str, Any]
    settings: dict[str, Any]


def spacelift_stack(inst: NamedInstance, atmos: AtmosConfig) -> str:
    """The Spacelift stack of `inst` when `settings.spacelift.workspace_enabled` is true, else "".

    `settings.spacelift.stack_name_pattern` (context tokens), else `stack_name`, else
    `<context prefix>-<component>`; the prefix is `stacks.name_template` rendered from the vars
    and settings, else `stacks.name_pattern` filled from the vars.
    """
    spacelift = inst.settings.get("spacelift")
    if not isinstance(spacelift, dict) or spacelift.get("workspace_enabled") is not True:
        return ""
    context = instance_context(inst)
    pattern = spacelift.get("stack_name_pattern")
    if isinstance(pattern, str):
        _context_prefix(inst, atmos, context)  # Atmos works it out (and fails on it) first
        return replace_context_tokens(context, pattern)
    prefix = _context_prefix(inst, atmos, context)
    name = spacelift.get("stack_name")
    if isinstance(name, str):
        return name
    return f"{prefix}-{context['component']}".replace("/", "-")


def atlantis_project(inst: NamedInstance, atmos: AtmosConfig) -> str:
    """The Atlantis project of `inst`: the name of `settings.atlantis.project_template`, else of
    the atmos.yaml template named by `settings.atlantis.project_template_name`, with context
    tokens replaced; "" when neither gives a name."""
    atlantis = inst.settings.get("atlantis")
    if not isinstance(atlantis, dict):
        return ""
    template = atlantis.get("project_template")
    if isinstance(template, dict):
        name = template.get("name")
    else:
        chosen = atlantis.get("project_template_name")
        name = atmos.atlantis_project_templates.get(chosen, "") if isinstance(chosen, str) and chosen else ""
    if not isinstance(name, str) or not name:
        return ""
    return replace_context_tokens(instance_context(inst), name)


def instance_context(inst: NamedInstance) -> dict[str, str]:
    """The Atmos context of the vars (as the workspace pattern reads it), plus the component with
    `/` turned into `-`."""
    return {**context_from_vars(inst.vars), "component": inst.component.replace("/", "-")}


def replace_context_tokens(context: dict[str, str], pattern: str) -> str:
    """Atmos' `ReplaceContextTokens`: each `{token}` by its context value ("" when not set)."""
    return _TOKEN.sub(lambda match: context.get(match.group(0)[1:-1].replace("-", "_"), ""), pattern)


def _context_prefix(inst: NamedInstance, atmos: AtmosConfig, context: dict[str, str]) -> str:
    where = f"{atmos.stacks_path(inst.stack_file)}: stack {inst.stack!r} component {inst.component!r}"
    if atmos.name_template:
        try:
            return render(atmos.name_template, {"vars": inst.vars, "settings": inst.settings})
        except TemplateError as exc:
            raise ConfigError(f"{where}: naming its Spacelift stack: stacks.name_template: {exc}") from None
    if not atmos.name_pattern:
        raise ConfigError(f"{where}: settings.spacelift.workspace_enabled needs stacks.name_template or "
                          f"stacks.name_pattern in {atmos.config_file} to name the Spacelift stack, as in Atmos")
    parts = []
    for token in atmos.name_pattern.split("-"):
        if token in _PREFIX_TOKENS:
            value = context.get(token[1:-1], "")
            if not value:
                raise ConfigError(f"{where}: naming its Spacelift stack: stacks.name_pattern "
                                  f"{atmos.name_pattern!r} needs var {token[1:-1]!r}, which is not set")
            parts.append(value)
    return "-".join(parts)

