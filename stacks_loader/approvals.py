"""Which instances wait for a person before their apply, and what that person is shown.

Pure: reads an instance's resolved `settings.stackflow.approval` and `vars.stage`, nothing else.

    settings:
      stackflow:
        approval:
          required: true            # gate this instance (default: only stage prod / production)
          allow_auto_approve: true  # let `--auto-approve STAGE` drop a required gate

Like any setting these inherit and deep merge, so `prod/_defaults.yaml` can set them for a
whole stage. Command-line flags can add gates (`--require-approval`) but never remove a required
one unless the instance's own settings allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import StackInstance

PRODUCTION_STAGES = frozenset({"prod", "production"})
SETTING = "settings.stackflow.approval"
# a gate's summary lists at most this many resources; the plan artifact has them all
MAX_LISTED_RESOURCES = 50


def _approval_settings(instance: StackInstance) -> dict[str, Any]:
    section: Any = instance.settings.get("stackflow") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{instance}: settings.stackflow must be a map, got {section!r}")
    approval = section.get("approval") or {}
    if not isinstance(approval, dict):
        raise ConfigError(f"{instance}: {SETTING} must be a map, got {approval!r}")
    return approval


def _flag(instance: StackInstance, name: str) -> bool | None:
    value = _approval_settings(instance).get(name)
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{instance}: {SETTING}.{name} must be true or false, got {value!r}")
    return value


def stage_of(instance: StackInstance) -> str:
    """The instance's `stage` var, lower-cased ("" when it has none)."""
    stage = instance.vars.get("stage")
    return str(stage).strip().lower() if stage is not None else ""


def approval_required(instance: StackInstance) -> bool:
    """What the instance's own config says: its setting, else whether its stage is production."""
    required = _flag(instance, "required")
    if required is not None:
        return required
    return stage_of(instance) in PRODUCTION_STAGES


def _normalise(stages: Iterable[str]) -> frozenset[str]:
    return frozenset(s.strip().lower() for s in stages)


def needs_approval(
    instance: StackInstance,
    *,
    require_all: bool = False,
    auto_approve_stages: frozenset[str] = frozenset(),
) -> bool:
    """Whether the instance's apply waits at a gate.

    `require_all` (`--require-approval`) gates every instance. `auto_approve_stages`
    (`--auto-approve STAGE`) drops the gate of instances in those stages, except a gate their
    config requires, which only `allow_auto_approve: true` lets go.
    """
    required = approval_required(instance)
    if stage_of(instance) in _normalise(auto_approve_stages):
        if not required or _flag(instance, "allow_auto_approve") is True:
            return False
        return True
    return required or require_all


def check_auto_approve(instances: Iterable[StackInstance], auto_approve_stages: Iterable[str]) -> None:
    """Refuse `--auto-approve` before anything runs when it would drop a required gate.

    Raises `ConfigError` naming the first such instance (in sorted order) and the setting that
    would allow it.
    """
    stages = _normalise(auto_approve_stages)
    if not stages:
        return
    for instance in sorted(instances, key=lambda i: (i.stack, i.component)):
        stage = stage_of(instance)
        if stage not in stages or not approval_required(instance):
            continue
        if _flag(instance, "allow_auto_approve") is not True:
            raise ConfigError(
                f"{instance}: --auto-approve {stage} would skip a required approval; "
                f"set {SETTING}.allow_auto_approve: true in its stack to allow it"
            )


def _markdown_text(text: str) -> str:
    """Text safe inside a markdown table cell or list item."""
    return text.replace("|", "\\|").replace("\n", " ")


def _link(label: str, target: str) -> str:
    if target.startswith(("http://", "https://")):
        return f"[{label}]({target})"
    return f"`{target}`"


def approval_summary_markdown(
    instance_label: str,
    add: int,
    change: int,
    destroy: int,
    resources: list[str],
    plan_uri: str,
    run_url: str | None,
) -> str:
    """The markdown a reviewer reads at the gate: counts, the resources, where the plan is."""
    lines = [
        f"### Apply `{_markdown_text(instance_label)}`?",
        "",
        "| add | change | destroy |",
        "|----:|-------:|--------:|",
        f"| {add} | {change} | {destroy} |",
        "",
    ]
    if resources:
        lines.append(f"**Resources** ({len(resources)}):")
        lines.append("")
        shown = resources[:MAX_LISTED_RESOURCES]
        lines.extend(f"- `{_markdown_text(r)}`" for r in shown)
        if len(resources) > len(shown):
            lines.append(f"- … and {len(resources) - len(shown)} more (see the plan)")
        lines.append("")
    lines.append(f"**Plan:** {_link('plan file', plan_uri) if plan_uri else '(not stored)'}")
    if run_url:
        lines.append("")
        lines.append(f"**Run:** {_link('deploy run', run_url)}")
    lines.append("")
    lines.append("Choose **approve** to apply this plan; anything else rejects it and skips "
                 "this instance and its dependents. Give a reason and your name.")
    return "\n".join(lines)
