"""describe_stacks / describe_component (with provenance) / describe_graph and diagrams."""

from __future__ import annotations

import json

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.describe import (
    describe_component,
    describe_graph,
    describe_stacks,
    graph_dot,
    graph_mermaid,
)

from .repos import ATMOS_YAML, ctx, load_repo

DEV = "plat-ue1-dev"
FILES = {
    "stacks/mixins/ue1.yaml": "vars: {environment: ue1, region: us-east-1}\n",
    "stacks/catalog/vpc.yaml": """
        components:
          terraform:
            vpc:
              vars: {cidr: 10.0.0.0/16}
              settings: {team: network}
    """,
    "stacks/deploy/dev.yaml": """
        import: [mixins/ue1, catalog/vpc]
        vars: {tenant: plat, stage: dev}
        env: {TF_LOG: info}
        overrides:
          env: {TF_LOG: debug}
        terraform:
          backend_type: s3
          backend: {s3: {bucket: state}}
        components:
          terraform:
            vpc:
              vars: {cidr: 10.1.0.0/16}
            app:
              vars: {vpc_id: !terraform.output vpc vpc_id}
    """,
}


def test_describe_stacks_is_json_ready_and_shaped_like_atmos(tmp_path):
    stacks = load_repo(tmp_path, FILES)
    data = describe_stacks(stacks)
    json.dumps(data)
    app = data[DEV]["components"]["terraform"]["app"]
    assert app["vars"]["vpc_id"] == f"!terraform.output vpc {DEV} vpc_id"
    assert app["component"] == "app" and app["workspace"] == DEV
    assert app["backend_type"] == "s3" and app["backend"]["workspace_key_prefix"] == "app"
    assert {"vars", "settings", "env", "metadata", "providers", "backend"} <= set(app)


def test_describe_component_with_provenance_names_the_file_that_set_each_key(tmp_path):
    stacks = load_repo(tmp_path, FILES)
    doc = describe_component(stacks, "vpc", DEV, provenance=True)
    assert doc["vars"]["cidr"] == "10.1.0.0/16"
    assert doc["provenance"] == {
        "vars.environment": "stacks/mixins/ue1.yaml",
        "vars.region": "stacks/mixins/ue1.yaml",
        "vars.cidr": "stacks/deploy/dev.yaml",
        "vars.tenant": "stacks/deploy/dev.yaml",
        "vars.stage": "stacks/deploy/dev.yaml",
        "settings.team": "stacks/catalog/vpc.yaml",
        "env.TF_LOG": "stacks/deploy/dev.yaml",
    }
    assert "provenance" not in describe_component(stacks, "vpc", DEV)


def test_provenance_follows_inheritance_and_overrides(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/base.yaml": """
            components:
              terraform:
                base: {metadata: {type: abstract}, vars: {size: small, zone: a}}
        """,
        "stacks/teams/t.yaml": """
            import: [catalog/app]
            overrides: {vars: {zone: forced}}
        """,
        "stacks/catalog/app.yaml": "components: {terraform: {app: {metadata: {inherits: [base]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/base, teams/t]\n"),
    })
    prov = describe_component(stacks, "app", DEV, provenance=True)["provenance"]
    assert prov["vars.size"] == "stacks/catalog/base.yaml"
    assert prov["vars.zone"] == "stacks/teams/t.yaml"


def test_describe_component_of_an_unknown_instance_is_a_config_error(tmp_path):
    stacks = load_repo(tmp_path, FILES)
    with pytest.raises(ConfigError, match="stack 'plat-ue1-dev' has no component 'nope'"):
        describe_component(stacks, "nope", DEV)


def test_describe_graph_lists_nodes_and_edges(tmp_path):
    stacks = load_repo(tmp_path, FILES)
    graph = stacks.graph()
    data = describe_graph(graph, stacks)
    assert {"stack": DEV, "component": "vpc", "component_path": "components/terraform/vpc",
            "workspace": DEV} in data["nodes"]
    assert data["edges"] == [{"from": {"stack": DEV, "component": "vpc"}, "to": {"stack": DEV, "component": "app"}}]
    assert f'"{DEV}/vpc" -> "{DEV}/app";' in graph_dot(graph)
    mermaid = graph_mermaid(graph)
    assert mermaid.startswith("graph LR") and "-->" in mermaid


def test_provenance_works_with_templated_import_paths(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/_region.yaml": "vars: {region_file: east}\n",
        "stacks/mixins/east.yaml": "vars: {zone: east-1a}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/_region, "mixins/{{ .vars.region_file }}"]
            components: {terraform: {app: {}}}
        """),
    })
    prov = describe_component(stacks, "app", DEV, provenance=True)["provenance"]
    assert prov["vars.zone"] == "stacks/mixins/east.yaml"


def test_atmos_stack_file_is_the_manifest_without_its_extension_as_atmos_shows_it(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc: {vars: {from: "{{ .atmos_stack_file }}", manifest: "{{ .atmos_manifest }}"}}
    """)})
    doc = describe_component(stacks, "vpc", "plat-ue1-dev")
    assert doc["atmos_stack_file"] == doc["atmos_manifest"] == "deploy/dev"
    assert doc["vars"]["from"] == doc["vars"]["manifest"] == "deploy/dev"


FILTER_FILES = {
    **FILES,
    "stacks/deploy/prod.yaml": """
        import: [mixins/ue1, catalog/vpc]
        vars: {tenant: plat, stage: prod}
        components:
          terraform:
            vpc: {}
            vpc-peer:
              component: vpc
              vars: {peer: true}
            app:
              vars: {vpc_id: !terraform.output vpc vpc_id}
    """,
}


def test_describe_stacks_filters_as_atmos(tmp_path):
    stacks = load_repo(tmp_path, FILTER_FILES)
    prod = "plat-ue1-prod"

    by_name = describe_stacks(stacks, stack=prod)
    assert list(by_name) == [prod] and set(by_name[prod]["components"]["terraform"]) == {"app", "vpc", "vpc-peer"}
    # a top-level manifest, relative to the stacks base path and without its extension, names it too
    assert describe_stacks(stacks, stack="deploy/prod") == by_name

    # a component, and those whose deprecated top-level `component:` names it (Atmos' derived components)
    vpcs = describe_stacks(stacks, components=["vpc"])
    assert {s: sorted(d["components"]["terraform"]) for s, d in vpcs.items()} == {
        DEV: ["vpc"], prod: ["vpc", "vpc-peer"]}
    assert list(describe_stacks(stacks, stack=DEV, components=["vpc-peer"])) == []  # exists, not in dev

    only = describe_stacks(stacks, stack=DEV, components=["vpc", "app"], sections=["vars", "workspace"])
    assert only[DEV]["components"]["terraform"]["vpc"] == {"workspace": DEV, "vars": {
        "environment": "ue1", "region": "us-east-1", "tenant": "plat", "stage": "dev", "cidr": "10.1.0.0/16"}}
    assert describe_stacks(stacks, component_types=["terraform", "helmfile"]) == describe_stacks(stacks)
    assert describe_stacks(stacks, component_types=["helmfile"]) == {}


@pytest.mark.parametrize(("filters", "message"), [
    ({"stack": "plat-ue1-qa"}, "describe stacks -s 'plat-ue1-qa': no stack or top-level stack manifest of that name"),
    ({"stack": "mixins/ue1"}, "describe stacks -s 'mixins/ue1': no stack or top-level stack manifest"),
    ({"components": ["vpc", "vcp"]}, "describe stacks --components: no component 'vcp' in any stack"),
    ({"component_types": ["helm"]}, "describe stacks --component-types: unknown type 'helm'"),
    ({"sections": ["vars", "deps"]}, "describe stacks --sections: no section 'deps' (a component has: "),
])
def test_describe_stacks_filters_refuse_a_name_that_matches_nothing(tmp_path, filters, message):
    stacks = load_repo(tmp_path, FILTER_FILES)
    with pytest.raises(ConfigError) as err:
        describe_stacks(stacks, **filters)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_describe_stacks_include_empty_stacks_as_atmos(tmp_path):
    files = {
        **FILTER_FILES,
        "stacks/deploy/shared.yaml": "name: shared-services\nimport: [mixins/ue1]\n",  # named, no component
        "stacks/deploy/scratch.yaml": "vars: {tenant: plat, stage: scratch}\n",  # named by the pattern: left out
    }
    stacks = load_repo(tmp_path / "pattern", files)
    assert "shared-services" not in describe_stacks(stacks)
    everything = describe_stacks(stacks, include_empty_stacks=True)
    assert list(everything) == sorted(everything) == [DEV, "plat-ue1-prod", "shared-services"]
    assert everything["shared-services"] == {"components": {}}
    assert everything[DEV] == describe_stacks(stacks)[DEV]
    assert describe_stacks(stacks, stack="deploy/shared", include_empty_stacks=True) == {
        "shared-services": {"components": {}}}
    assert describe_stacks(stacks, component_types=["helmfile"], include_empty_stacks=True) == {
        "shared-services": {"components": {}}}
    with pytest.raises(ConfigError, match="describe stacks -s 'deploy/scratch2'"):
        describe_stacks(stacks, stack="deploy/scratch2", include_empty_stacks=True)

    # no name pattern or template: every stack is its manifest's file name, empty ones too
    # (a file path with '/' is no stack name stackflow takes, named or empty: left out)
    plain = load_repo(tmp_path / "plain", {"stacks/dev.yaml": "components: {terraform: {vpc: {}}}\n",
                                           "stacks/empty.yaml": "vars: {stage: none}\n",
                                           "stacks/nested/empty.yaml": "vars: {stage: none}\n"},
                      atmos=ATMOS_YAML.replace('  name_pattern: "{tenant}-{environment}-{stage}"\n', "")
                      .replace('["deploy/**/*"]', '["**/*"]'))
    assert list(describe_stacks(plain)) == ["dev"]
    assert list(describe_stacks(plain, include_empty_stacks=True)) == ["dev", "empty"]


def test_describe_stacks_by_manifest_shows_that_manifests_version_of_a_shared_instance(tmp_path):
    # Atmos' stack composition: two manifests make one stack, and both import the shared component
    stacks = load_repo(tmp_path, {
        "stacks/catalog/shared.yaml": """
            vars: {tenant: plat, environment: ue1, stage: dev}
            components: {terraform: {shared: {vars: {from: catalog}}}}
        """,
        "stacks/deploy/01-network.yaml": "import: [catalog/shared]\ncomponents: {terraform: {dns: {}}}\n",
        "stacks/deploy/02-platform.yaml": "import: [catalog/shared]\ncomponents: {terraform: {chatops: {}}}\n",
    })
    by_manifest = {stem: describe_stacks(stacks, stack=stem)[DEV]["components"]["terraform"]
                   for stem in ("deploy/01-network", "deploy/02-platform")}
    assert {stem: sorted(found) for stem, found in by_manifest.items()} == {
        "deploy/01-network": ["dns", "shared"], "deploy/02-platform": ["chatops", "shared"]}
    assert by_manifest["deploy/02-platform"]["shared"]["atmos_manifest"] == "deploy/02-platform"
    assert describe_stacks(stacks)[DEV]["components"]["terraform"]["shared"]["atmos_manifest"] == "deploy/01-network"
