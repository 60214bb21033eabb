"""The example repository examples/acme loads as Atmos would resolve it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackflow.stacks_loader.describe import describe_component
from stackflow.stacks_loader.model import InstanceRef, TerraformOutputRef
from stackflow.stacks_loader.resolve import load_stacks

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme"
pytestmark = pytest.mark.skipif(not (ACME / "atmos.yaml").is_file(), reason="examples/acme not present")


@pytest.fixture(scope="module")
def acme():
    return load_stacks(ACME, environ={})


def test_acme_has_the_four_stacks(acme):
    assert {ref.stack for ref in acme.instances} == {
        "plat-ue1-dev", "plat-ue1-staging", "plat-ue1-prod", "plat-uw2-prod"}


def test_acme_values_resolve_through_defaults_mixins_and_catalog(acme):
    vpc = acme.instances[InstanceRef("plat-ue1-dev", "vpc")]
    assert vpc.vars["namespace"] == "acme" and vpc.vars["tenant"] == "plat"
    assert vpc.vars["environment"] == "ue1" and vpc.vars["stage"] == "dev"
    assert vpc.vars["cidr_block"] == "10.10.0.0/16"
    assert vpc.component_path == "components/terraform/vpc" and vpc.workspace == "plat-ue1-dev"
    assert vpc.backend_type == "s3" and vpc.backend["workspace_key_prefix"] == "vpc"
    assert vpc.backend["bucket"] == "acme-tfstate"  # !env default with environ={}
    west = acme.instances[InstanceRef("plat-uw2-prod", "vpc")]
    assert west.vars["environment"] == "uw2" and west.vars["cidr_block"] == "10.40.0.0/16"


def test_acme_abstract_table_defaults_are_inherited_not_deployed(acme):
    defaults = InstanceRef("plat-ue1-dev", "table/defaults")
    sessions = acme.instances[InstanceRef("plat-ue1-dev", "table/sessions")]
    assert acme.instances[defaults].abstract and defaults not in acme.deployable()
    assert sessions.vars["billing_mode"] == "PAY_PER_REQUEST" and sessions.vars["name"] == "sessions"
    assert sessions.component_path == "components/terraform/table"
    assert sessions.workspace == "plat-ue1-dev-table-sessions"


def test_acme_graph_orders_the_network_before_its_consumers(acme):
    graph = acme.graph()
    dev = "plat-ue1-dev"
    assert InstanceRef(dev, "vpc") in graph.parents(InstanceRef(dev, "subnets"))
    assert {InstanceRef(dev, "queue"), InstanceRef(dev, "bucket")} <= set(graph.parents(InstanceRef(dev, "iam-role")))
    assert all(ref.stack == "plat-uw2-prod" for ref in graph.ancestors(InstanceRef("plat-uw2-prod", "subnets")))
    subnets = acme.instances[InstanceRef(dev, "subnets")]
    assert subnets.vars["vpc_id"] == TerraformOutputRef(
        InstanceRef(dev, "vpc"), "vpc_id", source_file="stacks/catalog/subnets.yaml")


def test_acme_provenance_points_at_the_mixin_for_the_region(acme):
    doc = describe_component(acme, "vpc", "plat-ue1-dev", provenance=True)
    assert doc["provenance"]["vars.environment"] == "stacks/mixins/region/us-east-1.yaml"
    assert doc["provenance"]["vars.cidr_block"] == "stacks/orgs/acme/plat/dev/us-east-1.yaml"
