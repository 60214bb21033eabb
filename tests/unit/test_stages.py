"""Progressive stages: later stages wait for the same component in the nearest earlier stage."""

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef, StackInstance
from stackflow.stacks_loader.stages import stage_edges, validation_command

STAGES = {"stackflow": {"stages": ["dev", "staging", "prod"]}}


def _inst(stack, component, stage, settings=STAGES):
    return StackInstance(stack, component, f"components/terraform/{component}", f"{stack}.yaml",
                         vars={"stage": stage}, settings=settings)


INSTANCES = {i.ref: i for i in [
    _inst("ue1-dev", "vpc", "dev"), _inst("ue1-staging", "vpc", "staging"),
    _inst("ue1-prod", "vpc", "prod"), _inst("uw2-prod", "vpc", "prod"),
    _inst("ue1-prod", "queue", "prod"), _inst("ue1-dev", "queue", "dev"),
]}
R = InstanceRef.parse


def test_each_stage_waits_for_the_previous_one_in_every_region():
    edges = set(stage_edges(INSTANCES, INSTANCES))
    assert (R("ue1-dev/vpc"), R("ue1-staging/vpc")) in edges
    assert (R("ue1-staging/vpc"), R("ue1-prod/vpc")) in edges
    assert (R("ue1-staging/vpc"), R("uw2-prod/vpc")) in edges
    assert (R("ue1-dev/vpc"), R("ue1-prod/vpc")) not in edges


def test_a_stage_missing_from_the_run_is_skipped_over():
    assert set(stage_edges(INSTANCES, INSTANCES)) >= {(R("ue1-dev/queue"), R("ue1-prod/queue"))}


def test_without_the_setting_there_are_no_stage_edges():
    plain = {i.ref: _inst(i.stack, i.component, i.vars["stage"], settings={}) for i in INSTANCES.values()}
    assert stage_edges(plain, plain) == []


def test_bad_stage_settings_are_config_errors_naming_the_instance():
    bad = {R("a/x"): _inst("a", "x", "dev", settings={"stackflow": {"stages": "dev,prod"}})}
    with pytest.raises(ConfigError, match="a/x: settings.stackflow.stages must be a list"):
        stage_edges(bad, bad)
    with pytest.raises(ConfigError, match="settings.stackflow.validate must be a command"):
        validation_command(_inst("a", "x", "dev", settings={"stackflow": {"validate": ["ls"]}}))
