"""Which instances wait at a gate, which flags may change that, and what the reviewer reads."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.approvals import (
    approval_summary_markdown,
    check_auto_approve,
    needs_approval,
)
from stackflow.stacks_loader.model import InstanceRef, StackInstance
from tests.loader.repos import ctx, load_repo


def instance(stack: str, stage: str | None, approval: dict | None = None) -> StackInstance:
    settings = {"stackflow": {"approval": approval}} if approval is not None else {}
    vars_ = {"stage": stage} if stage is not None else {}
    return StackInstance(stack, "vpc", "components/terraform/vpc", "x.yaml", vars=vars_,
                         settings=settings)


@pytest.mark.parametrize("stage, expected", [
    ("prod", True), ("production", True), ("Prod", True), ("dev", False), ("staging", False),
    (None, False),
])
def test_only_production_stages_need_approval_when_the_setting_is_unset(stage, expected):
    assert needs_approval(instance("s", stage)) is expected


def test_the_setting_overrides_the_stage_either_way():
    assert needs_approval(instance("s", "dev", {"required": True})) is True
    assert needs_approval(instance("s", "prod", {"required": False})) is False


def test_require_approval_flag_gates_every_instance():
    assert needs_approval(instance("s", "dev"), require_all=True) is True
    assert needs_approval(instance("s", "prod", {"required": False}), require_all=True) is True


def test_auto_approve_never_weakens_production_unless_its_settings_allow_it():
    prod = instance("plat-ue1-prod", "prod")
    assert needs_approval(prod, auto_approve_stages=frozenset({"prod"})) is True
    with pytest.raises(ConfigError, match=r"plat-ue1-prod/vpc: --auto-approve prod would skip .*"
                                          r"allow_auto_approve: true"):
        check_auto_approve([instance("plat-ue1-dev", "dev"), prod], {"prod"})

    allowed = instance("plat-ue1-prod", "prod", {"allow_auto_approve": True})
    assert needs_approval(allowed, auto_approve_stages=frozenset({"prod"})) is False
    check_auto_approve([allowed], {"prod"})


def test_auto_approve_of_other_stages_leaves_production_gated_and_is_allowed():
    prod, dev = instance("p", "prod"), instance("d", "dev", {"required": True})
    check_auto_approve([prod], {"dev"})
    assert needs_approval(prod, auto_approve_stages=frozenset({"dev"})) is True
    # a dev instance its settings gate is protected just like production
    with pytest.raises(ConfigError, match="d/vpc"):
        check_auto_approve([dev], {"dev"})
    # a stage nobody requires approval for: --auto-approve wins over --require-approval
    assert needs_approval(instance("q", "qa"), require_all=True,
                          auto_approve_stages=frozenset({"qa"})) is False


@pytest.mark.parametrize("approval, field", [
    ({"required": "yes"}, "required"), ({"allow_auto_approve": 1}, "allow_auto_approve"),
])
def test_a_setting_that_is_not_a_boolean_is_a_config_error_naming_it(approval, field):
    with pytest.raises(ConfigError, match=rf"s/vpc: settings\.stackflow\.approval\.{field} must be "
                                          r"true or false"):
        check_auto_approve([instance("s", "prod", approval)], {"prod"})


def test_the_setting_inherits_and_deep_merges_from_a_stage_defaults_file(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/orgs/prod/_defaults.yaml": """
            settings:
              stackflow:
                approval: {required: true, allow_auto_approve: false}
        """,
        "stacks/deploy/prod.yaml": ctx("""
            import: [orgs/prod/_defaults]
            components:
              terraform:
                vpc: {vars: {}}
                logs:
                  settings:
                    stackflow: {approval: {allow_auto_approve: true}}
        """, stage="live"),
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {vars: {}}}}"),
    })
    vpc = stacks.instances[InstanceRef("plat-ue1-live", "vpc")]
    logs = stacks.instances[InstanceRef("plat-ue1-live", "logs")]
    assert needs_approval(vpc) and needs_approval(logs)  # stage "live" is gated by the file
    assert logs.settings["stackflow"]["approval"] == {"required": True, "allow_auto_approve": True}
    assert not needs_approval(logs, auto_approve_stages=frozenset({"live"}))
    assert not needs_approval(stacks.instances[InstanceRef("plat-ue1-dev", "vpc")])
    with pytest.raises(ConfigError, match="plat-ue1-live/vpc"):
        check_auto_approve(stacks.instances.values(), {"live"})


def test_summary_shows_counts_resources_and_links():
    text = approval_summary_markdown(
        "plat-ue1-prod/vpc", 2, 1, 3, ["aws_vpc.main", "aws_subnet.a|b"],
        "s3://plans/run/vpc.tfplan", "http://ui/runs/flow-run/abc",
    )
    assert "### Apply `plat-ue1-prod/vpc`?" in text
    assert "| 2 | 1 | 3 |" in text
    assert "- `aws_vpc.main`" in text and "aws_subnet.a\\|b" in text
    assert "**Plan:** `s3://plans/run/vpc.tfplan`" in text
    assert "**Run:** [deploy run](http://ui/runs/flow-run/abc)" in text


def test_summary_lists_at_most_fifty_resources():
    text = approval_summary_markdown("s/c", 60, 0, 0, [f"r.{i}" for i in range(60)], "", None)
    assert "- `r.49`" in text and "- `r.50`" not in text and "and 10 more" in text
    assert "(not stored)" in text and "**Run:**" not in text
