"""Atmos' file-scoped `locals`: scopes, order, context, never across files, never in output."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.describe import describe_component, describe_stacks
from stackflow.stacks_loader.model import InstanceRef, TerraformOutputRef

from .repos import ATMOS_YAML, ctx, load_repo

DEV = "plat-ue1-dev"
DEV_FILE = "stacks/deploy/dev.yaml"


def vars_of(stacks, component: str = "app", stack: str = DEV) -> dict:
    return stacks.instances[InstanceRef(stack, component)].vars


def load_error(tmp_path, files: dict[str, str], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_repo(tmp_path, files, environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_locals_read_other_locals_in_any_order_and_the_files_settings_vars_env(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        settings: {version: v7}
        env: {LOG: debug}
        locals:
          full: "{{ .locals.prefix }}-{{ .locals.stage }}"
          prefix: "{{ .locals.org }}-{{ .settings.version }}"
          org: umbrella
          stage: "{{ .vars.stage }}"
          log: "{{ .env.LOG }}"
          loud: '{{ .locals.org | upper }}'
        components:
          terraform:
            app: {vars: {full: "{{ .locals.full }}", log: "{{ .locals.log }}", loud: "{{ .locals.loud }}"}}
    """)})
    assert vars_of(stacks).items() >= {"full": "umbrella-v7-dev", "log": "debug", "loud": "UMBRELLA"}.items()


def test_a_whole_value_reference_keeps_maps_lists_numbers_and_booleans(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        locals:
          count: 3
          enabled: true
          zones: [a, b]
          tags: {Team: "{{ .locals.team }}", ManagedBy: stackflow}
          team: core
          same_tags: "{{ .locals.tags }}"
        components:
          terraform:
            app:
              vars:
                count: "{{ .locals.count }}"
                enabled: "{{ .locals.enabled }}"
                zones: "{{ .locals.zones }}"
                tags: "{{ .locals.same_tags }}"
                label: "n={{ .locals.count }}"
    """)})
    got = vars_of(stacks)
    assert got["count"] == 3 and got["enabled"] is True and got["zones"] == ["a", "b"]
    assert got["tags"] == {"Team": "core", "ManagedBy": "stackflow"}
    assert got["label"] == "n=3"


def test_terraform_locals_start_from_the_global_ones_override_them_and_see_terraform_sections(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        settings: {team: core}
        locals:
          name: global
          who: "{{ .locals.name }}"
          team: "{{ .settings.team }}"
        terraform:
          settings: {team: infra}
          locals:
            name: terraform
            tf_who: "{{ .locals.name }}"
            tf_team: "{{ .settings.team }}"
            bucket: "{{ .locals.who }}-tfstate"
          backend_type: s3
          backend: {s3: {bucket: "{{ .locals.bucket }}"}}
        components:
          terraform:
            app:
              vars: {name: "{{ .locals.name }}", who: "{{ .locals.who }}", tf_who: "{{ .locals.tf_who }}",
                     team: "{{ .locals.team }}", tf_team: "{{ .locals.tf_team }}"}
    """)})
    # top-level locals never see terraform's; terraform's see their own `name` and settings
    assert vars_of(stacks).items() >= {"name": "terraform", "who": "global", "tf_who": "terraform",
                                       "team": "core", "tf_team": "infra"}.items()
    assert stacks.instances[InstanceRef(DEV, "app")].backend["bucket"] == "global-tfstate"


def test_helmfile_and_packer_locals_are_flattened_after_terraform_ones_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        locals: {chart: none}
        terraform: {locals: {chart: tf}}
        helmfile: {locals: {chart: helm}}
        components: {terraform: {app: {vars: {chart: "{{ .locals.chart }}"}}}}
    """)})
    assert vars_of(stacks)["chart"] == "helm"


def test_each_file_resolves_only_its_own_locals(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {name: from-catalog}
            components: {terraform: {app: {vars: {catalog_name: "{{ .locals.name }}"}}}}
        """,
        DEV_FILE: ctx("""
            import: [catalog/app]
            locals: {name: from-dev}
            components: {terraform: {app: {vars: {dev_name: "{{ .locals.name }}"}}}}
        """),
    })
    assert vars_of(stacks).items() >= {"catalog_name": "from-catalog", "dev_name": "from-dev"}.items()


def test_an_importing_file_cannot_read_the_locals_of_what_it_imports(tmp_path):
    # Atmos renders '<no value>' there; stackflow refuses, naming the file and the field
    message = load_error(tmp_path, {
        "stacks/mixins/base.yaml": "locals: {region: us-east-2}\nvars: {inherited: yes}\n",
        DEV_FILE: ctx("""
            import: [mixins/base]
            components: {terraform: {app: {vars: {region: "{{ .locals.region }}"}}}}
        """),
    })
    assert message.startswith(f"{DEV_FILE}: stack '{DEV}' component 'app': vars.region: ")
    assert "this file has no locals" in message and "'<no value>'" in message


def test_an_imported_file_cannot_read_the_locals_of_the_file_importing_it(tmp_path):
    message = load_error(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {suffix: app}
            components: {terraform: {app: {vars: {name: "{{ .locals.prefix }}-{{ .locals.suffix }}"}}}}
        """,
        DEV_FILE: ctx("import: [catalog/app]\nlocals: {prefix: acme}\n"),
    })
    assert message.startswith(f"stacks/catalog/app.yaml: stack '{DEV}' component 'app': vars.name: ")
    assert "defines no local 'prefix' (its locals: suffix;" in message


def test_locals_cannot_read_settings_of_an_imported_file(tmp_path):
    message = load_error(tmp_path, {
        "stacks/mixins/sandbox.yaml": "settings: {substage: dev}\n",
        DEV_FILE: ctx("""
            import: [mixins/sandbox]
            locals: {domain: "{{ .settings.substage }}.example.com"}
            components: {terraform: {app: {vars: {domain: "{{ .locals.domain }}"}}}}
        """),
    })
    assert message.startswith(f"{DEV_FILE}: locals.domain: ") and "'.settings'" in message


@pytest.mark.parametrize(
    "body, expected",
    [
        ("locals: {a: '{{ .locals.b }}', b: '{{ .locals.c }}', c: '{{ .locals.a }}', d: 1}\n",
         f"{DEV_FILE}: 'locals': circular dependency: a → b → c → a"),
        ("locals: {self: 'x-{{ .locals.self }}'}\n", f"{DEV_FILE}: 'locals': circular dependency: self → self"),
        ("locals: {base: x}\nterraform: {locals: {p: '{{ .locals.q }}', q: '{{ .locals.p }}-{{ .locals.base }}'}}\n",
         f"{DEV_FILE}: 'terraform.locals': circular dependency: p → q → p"),
    ],
    ids=["three", "self", "terraform-scope"],
)
def test_a_locals_cycle_is_one_line_naming_the_file_and_the_cycle(tmp_path, body, expected):
    message = load_error(tmp_path, {DEV_FILE: ctx(body + "components: {terraform: {app: {}}}\n")})
    assert message == expected


def test_a_local_reading_an_undefined_local_is_an_error_naming_it(tmp_path):
    message = load_error(tmp_path, {DEV_FILE: ctx("""
        locals: {a: x, b: "{{ .locals.nope }}-{{ .locals.a }}"}
        components: {terraform: {app: {}}}
    """)})
    assert message.startswith(f"{DEV_FILE}: locals.b: ") and "'.locals.nope'" in message


@pytest.mark.parametrize("body", ["locals:\n", "terraform: {locals: [a]}\n"], ids=["null", "list"])
def test_a_locals_section_must_be_a_mapping(tmp_path, body):
    message = load_error(tmp_path, {DEV_FILE: ctx(body + "components: {terraform: {app: {}}}\n")})
    assert "locals' must be a mapping" in message and message.startswith(DEV_FILE)


def test_locals_are_not_part_of_the_described_component(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        locals: {name: acme}
        terraform: {locals: {bucket: acme-tfstate}}
        components: {terraform: {app: {vars: {name: "{{ .locals.name }}"}}}}
    """)})
    described = describe_component(stacks, "app", DEV)
    assert "locals" not in described and described["vars"]["name"] == "acme"
    assert "locals" not in str(describe_stacks(stacks))
    assert not [w for w in stacks.warnings if "locals" in w]


def test_env_locals_are_read_from_the_environment_when_the_file_is_loaded(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        locals:
          pr: !env PR_NUMBER
          missing: !env NOT_SET fallback
          target: '{{ if .locals.pr }}preview-{{ .locals.pr }}{{ else }}stable{{ end }}'
          home: '{{ env "HOME" }}'
        components:
          terraform:
            app: {vars: {target: "{{ .locals.target }}", missing: "{{ .locals.missing }}", home: "{{ .locals.home }}"}}
    """)}, {"PR_NUMBER": "42", "HOME": "/home/ci"})
    assert vars_of(stacks).items() >= {"target": "preview-42", "missing": "fallback", "home": "/home/ci"}.items()


def test_a_terraform_function_in_a_local_is_used_whole_in_the_stack_atmos_derives_from_the_file(tmp_path):
    stacks = load_repo(tmp_path, {
        DEV_FILE: ctx("""
            locals:
              vpc_id: !terraform.state vpc .vpc_id
              prod_vpc_id: !terraform.output vpc plat-ue1-prod .vpc_id
            components:
              terraform:
                vpc: {}
                app: {vars: {vpc_id: "{{ .locals.vpc_id }}", prod_vpc_id: "{{ .locals.prod_vpc_id }}"}}
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    got = vars_of(stacks)
    assert isinstance(got["vpc_id"], TerraformOutputRef)
    assert got["vpc_id"].parent == InstanceRef(DEV, "vpc") and got["vpc_id"].function == "terraform.state"
    assert got["prod_vpc_id"].parent == InstanceRef("plat-ue1-prod", "vpc")
    assert set(stacks.graph().parents(InstanceRef(DEV, "app"))) == {InstanceRef(DEV, "vpc"),
                                                                   InstanceRef("plat-ue1-prod", "vpc")}


def test_the_two_argument_form_in_an_imported_file_reads_the_stack_atmos_derives_from_that_file(tmp_path):
    # Atmos derives the stack from the catalog file alone: no name, no context vars → its path
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {vpc_id: !terraform.state vpc .vpc_id}
            components: {terraform: {app: {vars: {vpc_id: "{{ .locals.vpc_id }}"}}}}
        """,
        DEV_FILE: ctx("import: [catalog/app]\ncomponents: {terraform: {vpc: {}}}\n"),
    })
    assert vars_of(stacks)["vpc_id"].parent == InstanceRef("catalog/app", "vpc")
    with pytest.raises(ConfigError, match="vars.vpc_id depends on catalog/app/vpc, but there is no stack 'catalog/app'"):
        stacks.graph()


def test_a_terraform_function_printed_into_a_local_is_refused(tmp_path):
    message = load_error(tmp_path, {DEV_FILE: ctx("""
        locals:
          vpc_id: !terraform.state vpc .vpc_id
          name: "eks-{{ .locals.vpc_id }}"
        components: {terraform: {vpc: {}, app: {vars: {name: "{{ .locals.name }}"}}}}
    """)})
    assert message.startswith(f"{DEV_FILE}: locals.name: ") and "a YAML function" in message


def test_a_file_with_locals_renders_its_templates_with_its_own_sections_at_load_time(tmp_path):
    # as Atmos: `.vars.owner` is this file's (core), not the component's merged vars (web)
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        vars: {owner: core}
        locals: {}
        components: {terraform: {app: {vars: {owner: web, label: "{{ .vars.owner }}-app"}}}}
    """)})
    assert vars_of(stacks)["label"] == "core-app"


def test_when_one_template_cannot_render_at_file_scope_whole_references_still_resolve(tmp_path):
    stacks = load_repo(tmp_path, {DEV_FILE: ctx("""
        locals: {name: acme}
        components:
          terraform:
            app: {vars: {owner: web, name: "{{ .locals.name }}", label: "{{ .vars.owner }}-{{ .atmos_component }}"}}
    """)})
    # Atmos leaves the file to the component stage but for whole references
    assert vars_of(stacks).items() >= {"name": "acme", "label": "web-app"}.items()


def test_a_local_atmos_leaves_unrendered_because_of_another_template_is_refused(tmp_path):
    message = load_error(tmp_path, {DEV_FILE: ctx("""
        locals: {name: acme}
        components:
          terraform:
            app: {vars: {label: "{{ .locals.name }}-app", component: "{{ .atmos_component }}"}}
    """)})
    assert message.startswith(f"{DEV_FILE}: stack '{DEV}' component 'app': vars.label: template '{{{{ .locals.name }}}}-app'")
    assert "'{{ .atmos_component }}' at components.terraform.app.vars.component does not" in message


def test_top_level_vars_reading_vars_keep_their_locals_unrendered_in_atmos(tmp_path):
    message = load_error(tmp_path, {DEV_FILE: ctx("""
        locals: {name: acme}
        vars: {name: "{{ .locals.name }}", label: "{{ .vars.stage }}-x"}
        components: {terraform: {app: {}}}
    """)})
    assert message.startswith(f"{DEV_FILE}: stack '{DEV}' component 'app': vars.name: ") and "its top-level vars" in message


def test_locals_and_an_import_context_render_the_imported_file_together(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {name: app}
            components: {terraform: {"{{ .flavor }}-app": {vars: {name: "{{ .locals.name }}-{{ .flavor }}"}}}}
        """,
        DEV_FILE: ctx("import: [{path: catalog/app, context: {flavor: blue}}]\n"),
    })
    assert vars_of(stacks, "blue-app")["name"] == "app-blue"


def test_locals_do_not_see_the_import_context(tmp_path):
    message = load_error(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {name: "{{ .flavor }}-app"}
            components: {terraform: {app: {vars: {name: "{{ .locals.name }}"}}}}
        """,
        DEV_FILE: ctx("import: [{path: catalog/app, context: {flavor: blue}}]\n"),
    })
    assert message.startswith("stacks/catalog/app.yaml: locals.name: ") and "'.flavor'" in message


def test_import_paths_may_use_the_files_locals(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/blue.yaml": "vars: {color: blue}\n",
        DEV_FILE: ctx("""
            locals: {flavor: blue}
            import: ["catalog/{{ .locals.flavor }}"]
            components: {terraform: {app: {}}}
        """),
    })
    assert vars_of(stacks)["color"] == "blue"


def test_ignore_missing_template_values_leaves_the_rest_for_the_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {name: web}
            components: {terraform: {app: {vars: {name: "{{ .locals.name }}-{{ .atmos_component }}-{{ .flavor }}"}}}}
        """,
        DEV_FILE: ctx("import: [{path: catalog/app, context: {flavor: blue}, ignore_missing_template_values: true}]\n"),
    })
    assert vars_of(stacks)["name"] == "web-app-blue"


def test_component_level_locals_are_read_by_templates_left_for_the_component_stage(tmp_path):
    files = {DEV_FILE: ctx("""
        locals: {prefix: acme}
        components: {terraform: {app: {locals: {kind: vpc}, vars: {name: "{{ .locals.prefix }}"}}}}
    """)}
    stacks = load_repo(tmp_path / "ok", files)
    assert vars_of(stacks)["name"] == "acme"  # the file's locals render it at file scope
    assert not [w for w in stacks.warnings if "locals" in w]
    # `kind` is no local of the file: Atmos leaves the file for the component stage, where
    # `.locals` is the component's own locals
    files[DEV_FILE] = files[DEV_FILE].replace('"{{ .locals.prefix }}"', '"{{ .locals.kind }}-{{ .vars.stage }}"')
    assert vars_of(load_repo(tmp_path / "kind", files))["name"] == "vpc-dev"
    # one neither has: refused, naming both
    files[DEV_FILE] = files[DEV_FILE].replace("{{ .locals.kind }}", "{{ .locals.size }}")
    message = load_error(tmp_path / "bad", files)
    assert "defines no local 'size'" in message and "component 'app' has no component-level local 'size'" in message


def test_component_level_locals_are_inherited_base_first_and_shown_only_when_set(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/vpc.yaml": """
            components:
              terraform:
                vpc/base:
                  metadata: {type: abstract, component: vpc}
                  locals: {vpc_type: standard, cidr_prefix: "10.0", tags: {team: net}}
                  vars:
                    name: "{{ .locals.vpc_type }}-{{ .vars.stage }}"
                    cidr: "{{ .locals.cidr_prefix }}.0.0/16"
        """.replace("\n            ", "\n"),
        DEV_FILE: ctx("""
            import: [catalog/vpc]
            components:
              terraform:
                vpc/dev:
                  metadata: {inherits: [vpc/base]}
                  locals: {vpc_type: development, tags: {tier: "1"}, note: "{{ .locals.vpc_type }}"}
                vpc/standard:
                  metadata: {inherits: [vpc/base]}
                plain:
                  metadata: {component: vpc}
                  vars: {name: plain}
        """),
    })
    assert vars_of(stacks, "vpc/dev")["name"] == "development-dev"  # the component's local wins
    assert vars_of(stacks, "vpc/dev")["cidr"] == "10.0.0.0/16"  # the base's local, inherited
    assert vars_of(stacks, "vpc/standard")["name"] == "standard-dev"
    dev = describe_component(stacks, "vpc/dev", DEV)
    # merged like vars (maps deep), templates in them rendered like any value of the component
    assert dev["locals"] == {"vpc_type": "development", "cidr_prefix": "10.0", "tags": {"team": "net", "tier": "1"},
                             "note": "development"}
    assert describe_component(stacks, "vpc/standard", DEV)["locals"] == {
        "vpc_type": "standard", "cidr_prefix": "10.0", "tags": {"team": "net"}}
    assert "locals" not in describe_component(stacks, "plain", DEV)  # as Atmos: only when set
    assert not [w for w in stacks.warnings if "locals" in w]


def test_skip_templates_processing_leaves_a_files_locals_unresolved(tmp_path):
    message = load_error(tmp_path, {
        "stacks/catalog/app.yaml": """
            locals: {name: app}
            components: {terraform: {app: {vars: {name: "{{ .locals.name }}"}}}}
        """,
        DEV_FILE: ctx("import: [{path: catalog/app, skip_templates_processing: true}]\n"),
    })
    assert message.startswith(f"stacks/catalog/app.yaml: stack '{DEV}' component 'app': vars.name: ")


# Atmos' examples/locals, written again: two stacks named by `name_template`, each file with its
# own locals reading settings and vars, Sprig, a map of tags, two components sharing them.
EXAMPLE_ATMOS = ATMOS_YAML.replace('name_pattern: "{tenant}-{environment}-{stage}"', 'name_template: "{{ .vars.stage }}"')
EXAMPLE = {
    "stacks/deploy/dev.yaml": """
        settings: {version: v1, team: platform}
        vars: {stage: dev}
        locals:
          namespace: acme
          environment: development
          name_prefix: "{{ .locals.namespace }}-{{ .locals.environment }}"
          app_version: "{{ .settings.version }}"
          stage_name: "{{ .vars.stage }}"
          full_name: "{{ .locals.name_prefix }}-{{ .locals.stage_name }}"
          namespace_upper: '{{ .locals.namespace | upper }}'
          default_tags:
            Namespace: "{{ .locals.namespace }}"
            Environment: "{{ .locals.environment }}"
            Team: "{{ .settings.team }}"
            ManagedBy: Atmos
        components:
          terraform:
            myapp:
              vars:
                name: "{{ .locals.namespace }}"
                environment: "{{ .locals.environment }}"
                full_name: "{{ .locals.full_name }}"
                tags: "{{ .locals.default_tags }}"
            myapp-worker:
              metadata: {component: myapp}
              vars:
                name: "{{ .locals.namespace_upper }}"
                full_name: "{{ .locals.full_name }}-worker"
                version: "{{ .locals.app_version }}"
                tags: "{{ .locals.default_tags }}"
    """,
    "stacks/deploy/prod.yaml": """
        settings: {version: v2, team: platform}
        vars: {stage: prod}
        locals:
          namespace: acme
          environment: production
          name_prefix: "{{ .locals.namespace }}-{{ .locals.environment }}"
          full_name: "{{ .locals.name_prefix }}-{{ .vars.stage }}"
          default_tags: {Namespace: "{{ .locals.namespace }}", CostCenter: production}
        components:
          terraform:
            myapp:
              vars: {name: "{{ .locals.namespace }}", full_name: "{{ .locals.full_name }}", tags: "{{ .locals.default_tags }}"}
    """,
    "components/terraform/myapp/main.tf": "variable \"name\" {}\n",
}


def test_atmos_locals_example_resolves_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, EXAMPLE, atmos=EXAMPLE_ATMOS)
    assert vars_of(stacks, "myapp", "dev") == {
        "stage": "dev", "name": "acme", "environment": "development", "full_name": "acme-development-dev",
        "tags": {"Namespace": "acme", "Environment": "development", "Team": "platform", "ManagedBy": "Atmos"},
    }
    assert vars_of(stacks, "myapp-worker", "dev").items() >= {
        "name": "ACME", "full_name": "acme-development-dev-worker", "version": "v1"}.items()
    assert vars_of(stacks, "myapp", "prod") == {
        "stage": "prod", "name": "acme", "full_name": "acme-production-prod",
        "tags": {"Namespace": "acme", "CostCenter": "production"},
    }
    assert not stacks.warnings
