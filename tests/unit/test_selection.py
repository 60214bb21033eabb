"""--all / --stack selection."""

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef, StackInstance
from stackflow.stacks_loader.selection import select_instances


def _inst(stack, component, **metadata):
    return StackInstance(stack, component, f"components/terraform/{component}", "f.yaml", metadata=metadata)


INSTANCES = {i.ref: i for i in [
    _inst("plat-ue1-dev", "vpc"), _inst("plat-ue1-dev", "app"), _inst("plat-ue1-prod", "vpc"),
    _inst("plat-ue1-dev", "base", type="abstract"), _inst("plat-ue1-dev", "off", enabled=False),
]}


def test_all_selects_every_deployable_instance():
    refs = select_instances(INSTANCES, all_instances=True)
    assert refs == {InstanceRef("plat-ue1-dev", "vpc"), InstanceRef("plat-ue1-dev", "app"),
                    InstanceRef("plat-ue1-prod", "vpc")}


def test_stack_names_instances_and_globs():
    assert select_instances(INSTANCES, ["plat-ue1-dev"]) == {InstanceRef("plat-ue1-dev", "vpc"),
                                                             InstanceRef("plat-ue1-dev", "app")}
    assert select_instances(INSTANCES, ["*/vpc"]) == {InstanceRef("plat-ue1-dev", "vpc"),
                                                      InstanceRef("plat-ue1-prod", "vpc")}


@pytest.mark.parametrize("patterns, message", [
    (["nope"], "--stack nope: no such stack or instance"),
    (["plat-ue1-dev/base"], "is abstract, not deployable"),
    (["plat-ue1-dev/off"], "is disabled"),
    ([], "nothing selected"),
])
def test_bad_selection_is_a_one_line_error(patterns, message):
    with pytest.raises(ConfigError, match=message):
        select_instances(INSTANCES, patterns)
