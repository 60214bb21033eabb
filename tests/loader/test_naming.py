"""Stack names (name > name_template > name_pattern), workspaces and backend defaults."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.describe import describe_instance
from stackflow.stacks_loader.model import InstanceRef

from .repos import ATMOS_YAML, ctx, load_repo

TEMPLATE_ATMOS = ATMOS_YAML + '  name_template: "{{ .vars.tenant }}-{{ .vars.stage }}"\n'


def stacks_of(stackset) -> set[str]:
    return {ref.stack for ref in stackset.instances}


def test_name_pattern_builds_the_stack_name_from_context_vars(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n")})
    assert stacks_of(stacks) == {"plat-ue1-dev"}


def test_name_template_wins_over_name_pattern(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": TEMPLATE_ATMOS,
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"),
    })
    assert stacks_of(stacks) == {"plat-dev"}


def test_manifest_name_wins_over_name_template(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": TEMPLATE_ATMOS,
        "stacks/deploy/dev.yaml": ctx("name: legacy-dev\ncomponents: {terraform: {vpc: {}}}\n"),
    })
    assert stacks_of(stacks) == {"legacy-dev"}


def test_without_pattern_or_template_the_file_name_is_the_stack_name(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": "stacks: {included_paths: ['*.yaml']}\n",
        "stacks/dev-east.yaml": "components: {terraform: {vpc: {}}}\n",
    })
    assert stacks_of(stacks) == {"dev-east"}


def test_a_stack_whose_vars_lack_a_name_pattern_var_is_named_after_its_file_as_atmos_names_it(tmp_path):
    # Atmos' describe stacks (and so describe affected) falls back to the file name
    stacks = load_repo(tmp_path, {
        "atmos.yaml": ATMOS_YAML.replace("deploy/**/*", "*"),
        "stacks/solo.yaml": "vars: {environment: ue1, stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
        "stacks/named.yaml": "name: kept\nvars: {stage: dev}\ncomponents: {terraform: {vpc: {}}}\n",
    })
    assert stacks_of(stacks) == {"solo", "kept"}
    assert [w for w in stacks.warnings if "stack named" in w] == [
        "stacks/solo.yaml: stack named 'solo' after its file, as Atmos names it: "
        "stacks.name_pattern '{tenant}-{environment}-{stage}': var 'tenant' is not set"]


def test_a_name_pattern_part_atmos_does_not_read_is_dropped_as_atmos_drops_it(tmp_path):
    # Atmos' GetContextPrefix reads {namespace}, {tenant}, {environment}, {stage} only; real repos
    # write `{environment}-{region}` and run `atmos ... -s <environment>`
    stacks = load_repo(tmp_path / "region", {
        "atmos.yaml": ATMOS_YAML.replace("{tenant}-{environment}-{stage}", "{stage}-{region}"),
        "stacks/deploy/dev.yaml": ctx("vars: {region: us-east-1}\ncomponents: {terraform: {vpc: {}}}\n"),
    })
    assert stacks_of(stacks) == {"dev"}
    assert stacks.warnings[0] == ("atmos.yaml: stacks.name_pattern '{stage}-{region}': '{region}' is not one of "
                                  "{namespace}, {tenant}, {environment}, {stage}: dropped, as Atmos drops it "
                                  "(so it names stacks by '{stage}')")
    # nothing left: a stack is named by its file, as Atmos falls back to the file name
    stacks = load_repo(tmp_path / "dir", {
        "atmos.yaml": "stacks: {included_paths: ['*.yaml'], name_pattern: '{dir}'}\n",
        "stacks/dev-east.yaml": "components: {terraform: {vpc: {}}}\n",
    })
    assert stacks_of(stacks) == {"dev-east"}
    assert "(so it names stacks by their file path)" in stacks.warnings[0]


def test_metadata_templates_read_the_stack_name_however_it_is_made(tmp_path):
    # Atmos names the stack before it renders the component section, so `.stack` is defined in
    # metadata too: here the name comes from the file, not from a name pattern (a real repo)
    stacks = load_repo(tmp_path, {
        "atmos.yaml": "stacks: {included_paths: ['*.yaml']}\n",
        "stacks/caddy.yaml": "components: {terraform: {lxc: {metadata: {terraform_workspace: '{{ .stack }}-ws'}}}}\n",
    })
    assert stacks.instances[InstanceRef("caddy", "lxc")].workspace == "caddy-ws"


def test_stack_name_uses_each_components_own_vars(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                dr-vpc:
                  vars: {environment: uw2}
        """),
    })
    assert stacks_of(stacks) == {"plat-ue1-dev", "plat-uw2-dev"}


def test_workspace_is_the_stack_name_for_a_component_in_its_own_folder(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                vpc-2:
                  metadata: {component: vpc}
                infra/dns:
                  metadata: {component: dns/primary}
        """),
    })
    ws = {r.component: i.workspace for r, i in stacks.instances.items()}
    assert ws == {"vpc": "plat-ue1-dev", "vpc-2": "plat-ue1-dev-vpc-2", "infra/dns": "plat-ue1-dev-infra-dns"}


def test_workspace_from_metadata_pattern_template_or_explicit_name(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                a:
                  metadata: {terraform_workspace_pattern: "{tenant}-{stage}-{component}"}
                b:
                  metadata: {terraform_workspace_template: "{{ .vars.stage }}-{{ .atmos_component }}"}
                c:
                  metadata: {terraform_workspace: fixed/name}
                d:
                  metadata:
                    terraform_workspace: explicit
                    terraform_workspace_pattern: "{stage}"
        """),
    })
    ws = {r.component: i.workspace for r, i in stacks.instances.items()}
    assert ws == {"a": "plat-dev-a", "b": "dev-b", "c": "fixed-name", "d": "explicit"}


def test_workspace_is_default_for_the_http_backend(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: http
              backend: {http: {address: https://state}}
            components: {terraform: {vpc: {}}}
        """),
    })
    assert stacks.instances[InstanceRef("plat-ue1-dev", "vpc")].workspace == "default"


def test_s3_workspace_key_prefix_defaults_to_name_then_folder_then_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend:
                s3: {bucket: state}
                gcs: {bucket: unused}
            components:
              terraform:
                plain/vpc: {}
                foldered:
                  metadata: {component: network/vpc}
                named:
                  metadata: {component: network/vpc, name: stable-name}
                explicit:
                  backend: {s3: {workspace_key_prefix: mine}}
        """),
    })
    prefix = {r.component: i.backend["workspace_key_prefix"] for r, i in stacks.instances.items()}
    assert prefix == {"plain/vpc": "plain-vpc", "foldered": "network-vpc", "named": "stable-name",
                      "explicit": "mine"}
    inst = stacks.instances[InstanceRef("plat-ue1-dev", "plain/vpc")]
    assert inst.backend_type == "s3" and inst.backend["bucket"] == "state" and "gcs" not in inst.backend


def test_gcs_prefix_and_azurerm_key_defaults(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                on-gcs:
                  backend_type: gcs
                  backend: {gcs: {bucket: b}}
                on-azure:
                  backend_type: azurerm
                  backend: {azurerm: {container_name: c}}
        """),
    })
    gcs = stacks.instances[InstanceRef("plat-ue1-dev", "on-gcs")].backend
    azure = stacks.instances[InstanceRef("plat-ue1-dev", "on-azure")].backend
    assert gcs["prefix"] == "on-gcs" and azure["key"] == "on-azure.terraform.tfstate"


def test_backend_section_is_merged_global_base_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: global, region: us-east-1, encrypt: true}}
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                  backend: {s3: {region: eu-west-1}}
                app:
                  metadata: {inherits: [base]}
                  backend: {s3: {bucket: own}}
        """),
    })
    backend = stacks.instances[InstanceRef("plat-ue1-dev", "app")].backend
    assert backend == {"bucket": "own", "region": "eu-west-1", "encrypt": True, "workspace_key_prefix": "app"}


def test_state_prefix_names_the_component_when_metadata_component_is_only_inherited(tmp_path):
    # Atmos' base component name comes from the component's OWN metadata.component
    # (processMetadataInheritance); terraform still runs in the inherited folder
    # (ProcessComponentMetadata reads the merged metadata)
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc/main.tf": "",
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: state}}
            components:
              terraform:
                vpc-defaults:
                  metadata: {type: abstract, component: vpc}
                vpc-a:
                  metadata: {inherits: [vpc-defaults]}
                on-gcs:
                  metadata: {inherits: [vpc-defaults]}
                  backend_type: gcs
                  backend: {gcs: {bucket: b}}
        """),
    })
    inst = stacks.instances[InstanceRef("plat-ue1-dev", "vpc-a")]
    assert inst.backend["workspace_key_prefix"] == "vpc-a"
    assert inst.component_path == "components/terraform/vpc"
    assert inst.described_path == "components/terraform/vpc-a"
    assert inst.workspace == "plat-ue1-dev-vpc-a"
    described = describe_instance(inst, stacks)
    assert described["component"] == "vpc-a" and described["component_path"] == "components/terraform/vpc-a"
    assert stacks.instances[InstanceRef("plat-ue1-dev", "on-gcs")].backend["prefix"] == "on-gcs"


def test_state_prefix_of_a_legacy_component_attribute_is_the_base_name_not_its_folder(tmp_path):
    # `vpc2: {component: vpc}`: Atmos' FinalBaseComponentName is `vpc`; its metadata.component
    # (inherited) is only the folder
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc-module/main.tf": "",
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: state}}
            components:
              terraform:
                vpc:
                  metadata: {component: vpc-module}
                vpc2:
                  component: vpc
        """),
    })
    vpc = stacks.instances[InstanceRef("plat-ue1-dev", "vpc")]
    vpc2 = stacks.instances[InstanceRef("plat-ue1-dev", "vpc2")]
    assert vpc.backend["workspace_key_prefix"] == "vpc-module"
    assert vpc2.backend["workspace_key_prefix"] == "vpc"
    assert vpc2.component_path == "components/terraform/vpc-module"
    assert vpc2.described_path == "components/terraform/vpc"


def test_legacy_component_attribute_naming_no_component_of_the_stack_is_ignored(tmp_path):
    # Atmos sets a base name only for a base defined in the stack (ProcessBaseComponentConfig):
    # a folder that is not a component is not a base, and not the folder either
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc/main.tf": "",
        "components/terraform/mock/main.tf": "",
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: state}}
            components:
              terraform:
                vpc:
                  component: mock
        """),
    })
    inst = stacks.instances[InstanceRef("plat-ue1-dev", "vpc")]
    assert inst.component_path == inst.described_path == "components/terraform/vpc"
    assert inst.workspace == "plat-ue1-dev"
    assert inst.backend["workspace_key_prefix"] == "vpc"


def test_a_name_template_may_branch_as_atmos_quick_start_does(tmp_path):
    atmos = ATMOS_YAML + ('  name_template: "{{ if eq .vars.stage \\"local\\" }}local{{ else }}'
                          '{{ .vars.tenant }}-{{ .vars.stage | upper }}{{ end }}"\n')
    stacks = load_repo(tmp_path, {
        "atmos.yaml": atmos,
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}\n"),
        "stacks/deploy/local.yaml": "vars: {tenant: plat, environment: ue1, stage: local}\n"
                                    "components: {terraform: {vpc: {}}}\n",
    })
    assert stacks_of(stacks) == {"plat-DEV", "local"}


def test_component_templates_read_an_undefined_value_as_null_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              vars:
                size: '{{ .settings.size | default "small" }}'
                mode: '{{ if .settings.debug }}debug{{ else }}normal{{ end }}'
                label: '{{ strings.Title .atmos_component }} in {{ .stack | quote }}'
    """)})
    got = stacks.instances[InstanceRef("plat-ue1-dev", "vpc")].vars
    assert {k: got[k] for k in ("size", "mode", "label")} == {
        "size": "small", "mode": "normal", "label": 'Vpc in "plat-ue1-dev"'}


def test_a_component_template_printing_an_undefined_value_gives_no_value_and_a_warning(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              vars:
                tags: {spacelift_stack: '{{ .spacelift_stack }}'}
    """)})
    assert stacks.instances[InstanceRef("plat-ue1-dev", "vpc")].vars["tags"] == {"spacelift_stack": "<no value>"}
    assert any("vars.tags.spacelift_stack: template value '.spacelift_stack' is not defined: rendered as "
               "'<no value>', as Atmos does" in w for w in stacks.warnings)


def test_a_second_evaluation_pass_renders_a_value_that_reads_another_values_template(tmp_path):
    files = {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              vars:
                name: '{{ .stack }}-vpc'
                label: 'label-{{ .vars.name }}'
    """)}
    two = load_repo(tmp_path / "two", {**files, "atmos.yaml": ATMOS_YAML + "templates: {settings: {evaluations: 2}}\n"})
    assert two.instances[InstanceRef("plat-ue1-dev", "vpc")].vars["label"] == "label-plat-ue1-dev-vpc"
    # one pass (the default): the nested template would print as text; refused, naming it
    with pytest.raises(ConfigError, match=r"vars\.label: template value '\.vars\.name' is itself a template"):
        load_repo(tmp_path / "one", files)
