"""Filling `!terraform.output` values from parents' outputs."""

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.deferred import deferred_refs, fill_deferred
from stackflow.stacks_loader.model import InstanceRef, TerraformOutputRef

VPC = InstanceRef("dev", "vpc")


def test_values_paths_and_nesting_are_filled_from_parent_outputs():
    vars_ = {
        "vpc_id": TerraformOutputRef(VPC, "vpc_id"),
        "first": TerraformOutputRef(VPC, "subnets", "[0]"),
        "nested": {"ids": [TerraformOutputRef(VPC, "meta", ".ids[1]"), "literal"]},
    }
    outputs = {VPC: {"vpc_id": "vpc-1", "subnets": ["a", "b"], "meta": {"ids": [1, 2]}}}
    assert fill_deferred(vars_, outputs) == {"vpc_id": "vpc-1", "first": "a", "nested": {"ids": [2, "literal"]}}
    assert len(deferred_refs(vars_)) == 3


def test_missing_output_names_the_dependent_and_the_parent():
    with pytest.raises(ConfigError, match=r"dev/app: .*dev/vpc has no output 'nope'"):
        fill_deferred({"x": TerraformOutputRef(VPC, "nope")}, {VPC: {}}, dependent="dev/app")


def test_unavailable_parent_outputs_are_an_error_not_a_guess():
    with pytest.raises(ConfigError, match="outputs of dev/vpc are not available"):
        fill_deferred([TerraformOutputRef(VPC, "vpc_id")], {}, dependent="dev/app")


def test_bad_path_is_an_error():
    with pytest.raises(ConfigError, match="not found"):
        fill_deferred(TerraformOutputRef(VPC, "ids", "[5]"), {VPC: {"ids": [1]}})


def test_a_yq_default_stands_in_for_a_missing_null_or_false_output_or_parent():
    default = '["mock-subnet1", "mock-subnet2"]'
    ref = TerraformOutputRef(VPC, "subnet_ids", default=default)
    assert fill_deferred(ref, {}) == ["mock-subnet1", "mock-subnet2"]  # the parent has no outputs yet
    assert fill_deferred(ref, {VPC: {}}) == ["mock-subnet1", "mock-subnet2"]  # no such output
    assert fill_deferred(ref, {VPC: {"subnet_ids": None}}) == ["mock-subnet1", "mock-subnet2"]
    assert fill_deferred(TerraformOutputRef(VPC, "on", default="true"), {VPC: {"on": False}}) is True
    assert fill_deferred(TerraformOutputRef(VPC, "m", ".k", default='"x"'), {VPC: {"m": {}}}) == "x"
    assert fill_deferred(ref, {VPC: {"subnet_ids": ["real"]}}) == ["real"]
    first, second = fill_deferred([ref, ref], {})
    assert first == second and first is not second  # each use its own copy
