"""The sections stackflow resolves as Atmos does but does not act on: required_providers,
required_version, generate, auth, source, provision, hooks (Atmos' stack_processor_merge.go)."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.describe import describe_component
from stackflow.stacks_loader.model import InstanceRef

from .repos import ATMOS_YAML, ctx, load_repo

DEV = "plat-ue1-dev"
VPC = InstanceRef(DEV, "vpc")


def test_every_reported_section_is_present_and_empty_when_unset(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}")})
    assert stacks.instances[VPC].reported_sections == {
        "required_providers": {}, "required_version": "", "generate": {}, "auth": {}, "source": {},
        "provision": {}, "hooks": {},
    }


def test_generate_auth_and_hooks_merge_global_terraform_base_component_then_overrides(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            generate: {a.txt: global, b.txt: global, c.txt: global, d.txt: global}
            auth: {identity: global, region: global}
            hooks: {store: {events: [after-terraform-apply], name: global}}
            terraform:
              generate: {b.txt: terraform, c.txt: terraform, d.txt: terraform}
              auth: {region: terraform}
              hooks: {store: {name: terraform}}
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                  generate: {c.txt: base, d.txt: base}
                  auth: {identity: base}
                vpc:
                  metadata: {inherits: [base]}
                  generate: {d.txt: component}
                  hooks: {store: {name: component}}
                  overrides:
                    auth: {identity: override}
        """),
    })
    sections = stacks.instances[VPC].reported_sections
    assert sections["generate"] == {"a.txt": "global", "b.txt": "terraform", "c.txt": "base", "d.txt": "component"}
    assert sections["auth"] == {"identity": "override", "region": "terraform"}
    assert sections["hooks"] == {"store": {"events": ["after-terraform-apply"], "name": "component"}}


def test_atmos_yaml_auth_lies_under_the_stacks_auth(tmp_path):
    atmos = ATMOS_YAML + "auth:\n  providers: {sso: {kind: aws/iam-identity-center}}\n  identity: admin\n"
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc: {auth: {identity: reader}}
    """)}, atmos=atmos)
    assert stacks.instances[VPC].reported_sections["auth"] == {
        "providers": {"sso": {"kind": "aws/iam-identity-center"}}, "identity": "reader"}


def test_required_providers_and_version_come_from_bases_the_component_and_overrides(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                pinned:
                  metadata: {type: abstract}
                  required_version: ">= 1.5.0"
                  required_providers: {aws: {source: hashicorp/aws, version: "~> 5.0"}}
                vpc:
                  metadata: {inherits: [pinned]}
                  required_providers: {aws: {version: "~> 6.0"}, random: {source: hashicorp/random}}
                subnets:
                  metadata: {inherits: [pinned]}
                  required_version: ">= 1.9.0"
                  overrides: {required_version: "= 1.10.0"}
        """),
    })
    vpc = stacks.instances[VPC].reported_sections
    assert vpc["required_providers"] == {"aws": {"source": "hashicorp/aws", "version": "~> 6.0"},
                                         "random": {"source": "hashicorp/random"}}
    assert vpc["required_version"] == ">= 1.5.0"
    assert stacks.instances[InstanceRef(DEV, "subnets")].reported_sections["required_version"] == "= 1.10.0"


def test_required_providers_under_terraform_is_ignored_with_a_warning_as_atmos_ignores_it(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        terraform:
          required_providers: {aws: {version: "~> 5.0"}}
        components: {terraform: {vpc: {}}}
    """)})
    assert stacks.instances[VPC].reported_sections["required_providers"] == {}
    assert any("'terraform.required_providers' is ignored: Atmos reads required_providers on components only"
               in w for w in stacks.warnings)


def test_source_short_form_is_a_uri_and_source_and_provision_are_inherited(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        terraform:
          provision: {workdir: {enabled: true}}
        components:
          terraform:
            vpc-base:
              metadata: {type: abstract}
              source: github.com/acme/modules//vpc?ref=v1.0.0
              provision: {workdir: {path: .work}}
            vpc:
              metadata: {inherits: [vpc-base]}
              source: {version: v1.2.0}
    """)})
    sections = stacks.instances[VPC].reported_sections
    assert sections["source"] == {"uri": "github.com/acme/modules//vpc?ref=v1.0.0", "version": "v1.2.0"}
    assert sections["provision"] == {"workdir": {"enabled": True, "path": ".work"}}


def test_inherit_source_false_keeps_source_and_provision_per_component(tmp_path):
    atmos = ATMOS_YAML.replace("stacks:\n", "stacks:\n  inherit:\n    source: false\n")
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc-base:
              metadata: {type: abstract}
              source: github.com/acme/modules//vpc
              provision: {workdir: {enabled: true}}
            vpc:
              metadata: {inherits: [vpc-base]}
    """)}, atmos=atmos)
    assert stacks.instances[VPC].reported_sections["source"] == {}
    assert stacks.instances[VPC].reported_sections["provision"] == {}


def test_env_function_in_auth_is_resolved_like_other_sections(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              auth: {identity: !env AUTH_IDENTITY}
    """)}, environ={"AUTH_IDENTITY": "deployer"})
    assert stacks.instances[VPC].reported_sections["auth"] == {"identity": "deployer"}


def test_describe_component_shows_the_reported_sections(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              required_version: ">= 1.5.0"
              generate: {extra.auto.tfvars.json: {x: 1}}
    """)})
    doc = describe_component(stacks, "vpc", DEV)
    assert doc["required_version"] == ">= 1.5.0"
    assert doc["generate"] == {"extra.auto.tfvars.json": {"x": 1}}
    assert doc["source"] == {} and doc["hooks"] == {} and doc["auth"] == {}


def test_a_file_setting_them_is_warned_once_that_stackflow_does_not_act_on_them(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc: {generate: {a.txt: x}, source: github.com/acme/vpc}
            subnets: {generate: {b.txt: y}}
    """)})
    warned = [w for w in stacks.warnings if "does not act on" in w]
    assert warned == [("stacks/deploy/dev.yaml: sections stackflow resolves and reports, but does not act on "
                       "when it runs terraform: generate, source")]


def test_overrides_of_auth_required_providers_and_hooks_are_accepted_as_in_atmos(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        overrides:
          auth: {identity: ops}
          required_providers: {aws: {version: "~> 6.0"}}
          hooks: {notify: {command: echo}}
          secrets: {db: {store: ssm}}
        components:
          terraform:
            vpc: {}
    """)})
    sections = stacks.instances[VPC].reported_sections
    assert sections["auth"] == {"identity": "ops"}
    assert sections["required_providers"] == {"aws": {"version": "~> 6.0"}}
    assert sections["hooks"] == {"notify": {"command": "echo"}}


@pytest.mark.parametrize(("body", "message"), [
    ("components: {terraform: {vpc: {source: [a, b]}}}",
     "'components.terraform.vpc.source' must be a mapping or a URI string, not a list"),
    ("components: {terraform: {vpc: {required_version: 1.5}}}",
     "'components.terraform.vpc.required_version' must be a string, not a number"),
    ("components: {terraform: {vpc: {required_providers: [aws]}}}",
     "'components.terraform.vpc.required_providers' must be a mapping, not a list"),
    ("terraform: {generate: [a.txt]}\ncomponents: {terraform: {vpc: {}}}",
     "'terraform.generate' must be a mapping, not a list"),
    ("auth: identity\ncomponents: {terraform: {vpc: {}}}", "'auth' must be a mapping, not a string"),
    ("components: {terraform: {vpc: {overrides: {required_version: [1]}}}}",
     "'components.terraform.vpc.overrides.required_version' must be a string"),
])
def test_a_reported_section_of_the_wrong_type_is_one_line_naming_file_and_field(tmp_path, body, message):
    with pytest.raises(ConfigError) as exc:
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(body)})
    assert str(exc.value) == f"stacks/deploy/dev.yaml: {message}"


def test_describe_affected_sections_names_only_sections_stackflow_resolves(tmp_path):
    atmos = ATMOS_YAML + "describe:\n  affected:\n    sections: [vars, locals]\n"
    with pytest.raises(ConfigError) as exc:
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("components: {terraform: {vpc: {}}}")}, atmos=atmos)
    assert str(exc.value).startswith(
        "atmos.yaml: 'describe.affected.sections' has 'locals', a section stackflow does not resolve; "
        "it can compare: vars, env, settings")


def test_generate_keeps_its_templates_for_the_files_atmos_writes(tmp_path):
    # `{{ .namespace }}` is only defined when Atmos writes the file: not rendered at load
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc:
              vars: {name: "{{ .vars.stage }}-vpc"}
              generate: {metadata.json: {namespace: "{{ .namespace }}"}}
    """)})
    inst = stacks.instances[VPC]
    assert inst.vars["name"] == "dev-vpc"
    assert inst.reported_sections["generate"] == {"metadata.json": {"namespace": "{{ .namespace }}"}}


def test_overrides_of_retry_and_secrets_are_accepted_and_ignored_as_unsupported(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        terraform:
          overrides:
            retry: {max_attempts: 3}
            secrets: {db: {store: ssm}}
        components: {terraform: {vpc: {retry: {max_attempts: 2}}}}
    """)})
    assert VPC in stacks.instances
    assert "stacks/deploy/dev.yaml: sections not used by stackflow are ignored: retry" in stacks.warnings
