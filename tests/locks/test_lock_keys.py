"""Lock keys: the state's address, so two names for one state share one lock."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter

from stackflow.errors import ConfigError
from stackflow.stacks_loader.lock_keys import is_lock_name, lock_name, state_address
from stackflow.stacks_loader.model import StackInstance
from tests.locks.instances import s3_instance


def _instance(backend_type: str, backend: dict, workspace: str = "default", **kw) -> StackInstance:
    return StackInstance(stack=kw.get("stack", "plat-ue1-dev"), component=kw.get("component", "vpc"),
                         component_path="components/terraform/vpc", stack_file="s.yaml",
                         backend_type=backend_type, backend=backend, workspace=workspace)


def test_s3_address_is_laid_out_as_terraform_stores_the_state():
    assert state_address(s3_instance("acme-tfstate")) == (
        "s3://acme-tfstate/vpc/plat-ue1-dev/terraform.tfstate")
    default = _instance("s3", {"bucket": "acme", "key": "terraform.tfstate",
                               "workspace_key_prefix": "vpc"})
    assert state_address(default) == "s3://acme/terraform.tfstate"
    no_prefix = _instance("s3", {"bucket": "acme", "key": "k.tfstate"}, "dev")
    assert state_address(no_prefix) == "s3://acme/env:/dev/k.tfstate"


def test_two_names_for_one_state_share_one_lock():
    a = s3_instance("acme", stack="plat-ue1-dev", component="vpc")
    b = _instance("s3", {"bucket": "acme", "key": "/terraform.tfstate",
                         "workspace_key_prefix": "vpc/", "region": "us-west-2"},
                  "plat-ue1-dev", stack="legacy-name", component="network")
    assert lock_name(state_address(a)) == lock_name(state_address(b))
    other = s3_instance("acme", stack="plat-ue1-prod")
    assert lock_name(state_address(a)) != lock_name(state_address(other))


def test_lock_name_is_readable_stable_and_valid_for_prefect_limits_and_variables():
    from prefect.types import Name
    from prefect.types.names import VariableName

    name = lock_name("s3://acme-tfstate/vpc/plat-ue1-dev/terraform.tfstate")
    assert re.fullmatch(r"stackflow-vpc-plat-ue1-dev-[0-9a-f]{8}", name)
    assert lock_name("s3://acme-tfstate/vpc/plat-ue1-dev/terraform.tfstate") == name
    assert is_lock_name(name)
    long = lock_name("s3://b/" + "very-long-component-name/" * 5 + "Plat_UE1:Dev/terraform.tfstate")
    for candidate in (name, long, lock_name("s3://bucket/terraform.tfstate")):
        TypeAdapter(Name).validate_python(candidate)
        TypeAdapter(VariableName).validate_python(candidate + "_maintenance")
        assert is_lock_name(candidate) and len(candidate) <= 60


def test_local_and_no_backend_key_on_component_folder_and_workspace():
    assert state_address(_instance("", {}, "dev")) == "local:components/terraform/vpc:dev"
    assert state_address(_instance("local", {"path": "terraform.tfstate"}, "dev")) == (
        "local:components/terraform/vpc:dev")
    assert state_address(_instance("local", {"path": "../state/vpc.tfstate"})) == (
        "local:components/terraform/state/vpc.tfstate:default")


def test_other_backends_have_canonical_addresses_without_secrets():
    assert state_address(_instance("gcs", {"bucket": "b", "prefix": "vpc/"}, "dev")) == (
        "gs://b/vpc/dev.tfstate")
    assert state_address(_instance("azurerm", {"storage_account_name": "sa", "container_name": "c",
                                               "key": "vpc.terraform.tfstate"}, "dev")) == (
        "azurerm://sa/c/vpc.terraform.tfstateenv:dev")
    assert state_address(_instance("remote", {"organization": "acme",
                                              "workspaces": {"prefix": "vpc-"}}, "dev")) == (
        "tfc://app.terraform.io/acme/vpc-dev")
    pg = state_address(_instance("pg", {"conn_str": "postgres://u:hunter2@db/tf"}, "dev"))
    assert re.fullmatch(r"pg:[0-9a-f]{16}:dev", pg) and "hunter2" not in pg


def test_an_unnameable_state_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"^plat-ue1-dev/vpc: backend\.s3\.bucket is not set"):
        state_address(_instance("s3", {"key": "terraform.tfstate"}))
    with pytest.raises(ConfigError, match="empty state address"):
        lock_name("  ")
    assert not is_lock_name("plat-ue1-dev/vpc") and not is_lock_name("stackflow-x-nothex!!")
