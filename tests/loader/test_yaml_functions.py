"""YAML functions: !env, !include, deferred !terraform.output/state, refused !exec/!store; scalar
typing as Atmos (Go yaml.v3) reads it; component-level templates."""

from __future__ import annotations

import re

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.describe import describe_component
from stackflow.stacks_loader.model import ExecRef, InstanceRef, StoreRef, TerraformOutputRef
from stackflow.stacks_loader.selection import select_target

from .repos import ATMOS_YAML, ctx, load_repo

ATMOS_APPEND = ATMOS_YAML + "settings: {list_merge_strategy: append}\n"

DEV = "plat-ue1-dev"


def inst(stacks, component: str = "app", stack: str = DEV):
    return stacks.instances[InstanceRef(stack, component)]


def test_env_reads_the_given_environ_with_an_optional_default(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    set: !env REGION
                    unset: !env NOT_SET fallback
                    quoted: !env NOT_SET "two words"
                    empty: !env NOT_SET
        """),
    }, environ={"REGION": "eu-west-1"})
    assert inst(stacks).vars == {"tenant": "plat", "environment": "ue1", "stage": "dev", "set": "eu-west-1",
                                 "unset": "fallback", "quoted": "two words", "empty": ""}


def test_env_prefers_the_components_env_section_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  env: {TEAM: from-env-section}
                  vars: {team: !env TEAM}
        """),
    }, environ={"TEAM": "from-process"})
    assert inst(stacks).vars["team"] == "from-env-section"


def test_env_can_feed_the_stack_name(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": """
            vars: {tenant: plat, environment: ue1, stage: !env STAGE}
            components: {terraform: {app: {}}}
        """,
    }, environ={"STAGE": "qa"})
    assert {r.stack for r in stacks.instances} == {"plat-ue1-qa"}


def test_include_inserts_yaml_json_and_text_files(tmp_path):
    stacks = load_repo(tmp_path, {
        "config/tags.yaml": "team: platform\nlevels: [1, 2]\n",
        "config/policy.json": '{"Version": "2012-10-17"}',
        "stacks/deploy/notes.txt": "hello\n",
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    tags: !include config/tags.yaml
                    first_level: !include config/tags.yaml .levels[0]
                    policy: !include config/policy.json
                    notes: !include ./notes.txt
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["tags"] == {"team": "platform", "levels": [1, 2]} and vars_["first_level"] == 1
    assert vars_["policy"] == {"Version": "2012-10-17"} and vars_["notes"] == "hello\n"


def test_include_of_tfvars_gives_values_without_quotes_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc/envs/dev.tfvars": """\
            cidr_block = "10.0.0.0/16"
            azs        = ["us-east-1a", "us-east-1b"]
            tags       = { "Name" = "vpc \\"main\\"", nested = { on = true, n = 2 } }
            literal    = "$${not.interpolated}"
            ratio      = 1.5
            doc = <<-EOT
                first
                  second
                EOT
        """,
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars: !include ../../components/terraform/vpc/envs/dev.tfvars
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["cidr_block"] == "10.0.0.0/16" and vars_["azs"] == ["us-east-1a", "us-east-1b"]
    assert vars_["tags"] == {"Name": 'vpc "main"', "nested": {"on": True, "n": 2}}
    assert vars_["literal"] == "${not.interpolated}" and vars_["doc"] == "first\n  second\n"
    # Atmos' ctyToGo truncates it to 1 (Int64 of every number); a silent loss we do not copy
    assert vars_["ratio"] == 1.5 and isinstance(vars_["tags"]["nested"]["n"], int)


@pytest.mark.parametrize(("hcl", "message"), [
    ('name = "${var.env}-vpc"\n', "'name' has an interpolation"),
    ("name = var.env\n", "'name' is an expression (var.env)"),
    ('variable "env" {\n  default = "dev"\n}\n', "unexpected 'variable' block"),
])
def test_include_of_hcl_with_variables_or_blocks_fails_as_in_atmos(tmp_path, hcl, message):
    with pytest.raises(ConfigError, match=r"stacks/deploy/dev.yaml:\d+: !include config/x.hcl: " + re.escape(message)):
        load_repo(tmp_path, {
            "config/x.hcl": hcl,
            "stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {x: !include config/x.hcl}}}}\n"),
        })


def test_include_of_a_dotenv_file_gives_a_map_of_strings(tmp_path):
    stacks = load_repo(tmp_path, {
        "config/app.env": """\
            # database
            export HOST=db.local
            PORT=5432 # default
            URL="postgres://${HOST}:$PORT\\n"
            RAW='$HOST stays'
            FROM_ENV=${REGION}
        """,
        "config/.env.dev": "STAGE: dev\n",
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    app: !include config/app.env
                    dev: !include config/.env.dev
                    raw: !include.raw config/.env.dev
        """),
    }, environ={"REGION": "us-east-1"})
    vars_ = inst(stacks).vars
    assert vars_["app"] == {"HOST": "db.local", "PORT": "5432", "URL": "postgres://db.local:5432\n",
                            "RAW": "$HOST stays", "FROM_ENV": "us-east-1"}
    assert vars_["dev"] == {"STAGE": "dev"} and vars_["raw"] == "STAGE: dev\n"


def test_terraform_output_is_deferred_as_a_reference_and_recorded_as_a_dependency(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    vpc_id: !terraform.output vpc vpc_id
                    subnet: !terraform.output vpc .private_subnet_ids[0]
                    other: !terraform.output vpc plat-ue1-prod .cfg["a-b"].x
                    state: !terraform.state vpc vpc_arn
                    nested: {ids: [!terraform.output vpc vpc_id]}
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    vars_ = inst(stacks).vars
    vpc = InstanceRef(DEV, "vpc")
    assert vars_["vpc_id"] == TerraformOutputRef(vpc, "vpc_id", source_file="stacks/deploy/dev.yaml")
    assert (vars_["subnet"].output, vars_["subnet"].path) == ("private_subnet_ids", "[0]")
    assert vars_["other"].parent == InstanceRef("plat-ue1-prod", "vpc") and vars_["other"].path == '["a-b"].x'
    assert vars_["state"].function == "terraform.state"
    assert isinstance(vars_["nested"]["ids"][0], TerraformOutputRef)
    deps = {(d.parent, d.via) for d in inst(stacks).dependencies}
    assert deps == {(vpc, "terraform.output"), (InstanceRef("plat-ue1-prod", "vpc"), "terraform.output")}
    assert str(vars_["vpc_id"]) == f"!terraform.output vpc {DEV} vpc_id"


def test_terraform_state_dot_is_every_output_of_the_component_as_a_map(tmp_path):
    from stackflow.stacks_loader.deferred import fill_deferred

    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    vpc: !terraform.state vpc .
                    lb: !terraform.state vpc .alb.public
                    all: '{{ (atmos.Component "vpc" .stack).outputs }}'
        """),
    })
    vars_ = inst(stacks).vars
    vpc = InstanceRef(DEV, "vpc")
    assert (vars_["vpc"].output, vars_["vpc"].path) == ("", "")
    assert str(vars_["vpc"]) == f"!terraform.state vpc {DEV} ."  # as written again
    assert str(vars_["lb"]) == f"!terraform.state vpc {DEV} .alb.public"
    outputs = {vpc: {"id": "vpc-1", "alb": {"public": "lb-1"}}}
    filled = fill_deferred({k: vars_[k] for k in ("vpc", "lb", "all")}, outputs, dependent=f"{DEV}/app")
    assert filled == {"vpc": {"id": "vpc-1", "alb": {"public": "lb-1"}}, "lb": "lb-1",
                      "all": {"id": "vpc-1", "alb": {"public": "lb-1"}}}
    assert {(d.parent, d.via) for d in inst(stacks).dependencies} == {(vpc, "terraform.output")}


def test_terraform_output_stack_may_be_a_template(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    same: !terraform.output vpc {{ .stack }} vpc_id
                    prod: !terraform.output vpc {{ .vars.tenant }}-{{ .vars.environment }}-prod vpc_id
                    fmt: !terraform.output vpc {{ printf "%s-ue1-prod" .vars.tenant }} vpc_id
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    vars_ = inst(stacks).vars
    assert vars_["same"].parent == InstanceRef(DEV, "vpc")
    assert vars_["prod"].parent == vars_["fmt"].parent == InstanceRef("plat-ue1-prod", "vpc")


def test_atmos_component_output_is_the_same_deferred_reference_and_edge_as_terraform_output(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app/base:
                  metadata: {type: abstract, component: app}
                  vars:
                    vpc_id: '{{ (atmos.Component "vpc" .stack).outputs.vpc_id }}'
        """.replace("\n            ", "\n"),
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                vpc: {}
                app:
                  metadata: {inherits: [app/base]}
                  vars:
                    ids: ['{{- (atmos.Component "vpc" .stack).outputs.private_subnet_ids -}}']
                    prod_cidr: '{{ (atmos.Component "vpc" (printf "%s-ue1-prod" .vars.tenant)).outputs.cfg.cidr }}'
                    cidrs: !template '{{ (atmos.Component "vpc" .stack).outputs.cidrs }}'
                    plain: '{{ .vars.stage }}'
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    vars_ = inst(stacks).vars
    dev_vpc, prod_vpc = InstanceRef(DEV, "vpc"), InstanceRef("plat-ue1-prod", "vpc")
    # written in the catalog, resolved per stack: the same value `!terraform.output vpc vpc_id` gives
    assert vars_["vpc_id"] == TerraformOutputRef(dev_vpc, "vpc_id", source_file="stacks/catalog/app.yaml")
    assert vars_["ids"] == [TerraformOutputRef(dev_vpc, "private_subnet_ids", source_file="stacks/deploy/dev.yaml")]
    assert (vars_["prod_cidr"].parent, vars_["prod_cidr"].output, vars_["prod_cidr"].path) == (prod_vpc, "cfg", ".cidr")
    assert vars_["cidrs"] == TerraformOutputRef(dev_vpc, "cidrs", source_file="stacks/deploy/dev.yaml")
    assert vars_["plain"] == "dev"
    assert {(d.parent, d.via) for d in inst(stacks).dependencies} == {
        (dev_vpc, "terraform.output"), (prod_vpc, "terraform.output")}
    graph = stacks.graph().digraph
    assert graph.has_edge(dev_vpc, InstanceRef(DEV, "app")) and graph.has_edge(prod_vpc, InstanceRef(DEV, "app"))
    # filled from the parents' real outputs before the child plans, as !terraform.output is
    from stackflow.stacks_loader.deferred import fill_deferred

    outputs = {dev_vpc: {"vpc_id": "vpc-1", "private_subnet_ids": ["s-1"], "cidrs": ["10.0.0.0/16"]},
               prod_vpc: {"cfg": {"cidr": "10.9.0.0/16"}}}
    filled = fill_deferred(vars_, outputs, dependent=f"{DEV}/app")
    assert filled == {**vars_, "vpc_id": "vpc-1", "ids": [["s-1"]], "prod_cidr": "10.9.0.0/16",
                      "cidrs": ["10.0.0.0/16"]}


def test_atmos_component_outputs_printed_into_text_are_printed_by_the_flow(tmp_path):
    from stackflow.stacks_loader.deferred import fill_deferred
    from stackflow.stacks_loader.model import TerraformOutputText

    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    pair: '{{ (atmos.Component "vpc" .stack).outputs.a }}--{{ (atmos.Component "vpc" .stack).outputs.b }}'
                    url: 'https://{{ (atmos.Component "vpc" .stack).outputs.host }}:{{ .vars.stage }}'
                    tags: '{{ (atmos.Component "vpc" .stack).outputs.tags }}-x'
        """),
    })
    vars_ = inst(stacks).vars
    vpc = InstanceRef(DEV, "vpc")
    a, b = (TerraformOutputRef(vpc, name, source_file="stacks/deploy/dev.yaml") for name in ("a", "b"))
    assert vars_["pair"] == TerraformOutputText((a, "--", b))
    assert str(vars_["url"]) == f"https://{{{{ !terraform.output vpc {DEV} host }}}}:dev"  # describe shows this
    assert {(d.parent, d.via) for d in inst(stacks).dependencies} == {(vpc, "terraform.output")}
    outputs = {vpc: {"a": "x", "b": 2.5, "host": "db.local", "tags": {"k": "v"}}}
    filled = fill_deferred({k: vars_[k] for k in ("pair", "url")}, outputs, dependent=f"{DEV}/app")
    assert filled == {"pair": "x--2.5", "url": "https://db.local:dev"}
    # Go would print `map[k:v]`: a map or list in text is refused when the flow fills it, naming it
    with pytest.raises(ConfigError, match=rf"{DEV}/app: !terraform.output vpc {DEV} tags: the output is dict, "
                                          "which cannot be printed into text"):
        fill_deferred(vars_["tags"], outputs, dependent=f"{DEV}/app")


def test_atmos_store_is_the_store_read_the_same_store_function_makes(tmp_path):
    from stackflow.stacks_loader.stores import plan_store_read

    atmos = ATMOS_YAML + "stores:\n  ssm: {type: aws-ssm-parameter-store, options: {region: us-east-1, prefix: /acme}}\n"
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    id: '{{ atmos.Store "ssm" .stack "vpc" "vpc_id" }}'
                    private: '{{ (atmos.Store "ssm" "plat-ue1-prod" "vpc" "cfg").subnets.private }}'
                    spaced: !template '{{ atmos.Store "ssm" .stack "vpc" "a b" }}'
        """),
    }, atmos=atmos)
    vars_ = inst(stacks).vars
    assert vars_["id"] == StoreRef("store", f"ssm {DEV} vpc vpc_id")
    assert vars_["private"] == StoreRef("store", "ssm plat-ue1-prod vpc cfg | query .subnets.private")
    assert vars_["spaced"] == StoreRef("store", f'ssm {DEV} vpc "a b"')
    reads = {k: plan_store_read(vars_[k], DEV, stacks.atmos.stores) for k in ("id", "private", "spaced")}
    assert reads["id"].name == "/acme/plat/ue1/dev/vpc/vpc_id"
    assert (reads["private"].name, reads["private"].query) == (
        "/acme/plat/ue1/prod/vpc/cfg", (("key", "subnets"), ("key", "private")))
    assert reads["spaced"].name == "/acme/plat/ue1/dev/vpc/a b"
    assert select_target(tmp_path, {}, [f"{DEV}/app"]).stores["ssm"].kind == "aws/ssm"  # a run may read them


@pytest.mark.parametrize(("value", "message"), [
    ('x-{{ atmos.Store "ssm" .stack "vpc" "id" }}', "is read when the stack runs: it can be a whole value"),
    ('{{ atmos.Store "ssm" .stack "vpc" "id" | upper }}', "upper cannot take the store value"),
    ('{{ atmos.Store "ssm" .stack "vpc" 3 }}', "atmos.Store: the key must be a non-empty string, not 3"),
])
def test_atmos_store_used_other_than_whole_is_refused_naming_the_field(tmp_path, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(f"components: {{terraform: {{app: {{vars: {{v: '{value}'}}}}}}}}\n")})
    assert "stacks/deploy/dev.yaml: stack 'plat-ue1-dev' component 'app': vars.v:" in str(caught.value)


def test_atmos_component_sections_are_the_other_instance_as_resolved(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                net: {}
                vpc:
                  vars:
                    cidr: 10.0.0.0/16
                    name: "vpc-{{ .vars.stage }}"
                    net_id: !terraform.output net id
                  settings: {config: {zones: [a, b], tier: 2}}
                app:
                  vars:
                    cidr: '{{ (atmos.Component "vpc" .stack).vars.cidr }}'
                    name: '{{ (atmos.Component "vpc" .stack).vars.name }}-app'
                    tier: '{{ (atmos.Component "vpc" .stack).settings.config.tier }}'
                    zones: !template '{{ toJson (atmos.Component "vpc" .stack).settings.config.zones }}'
                    net_id: '{{ (atmos.Component "vpc" .stack).vars.net_id }}'
                    workspace: '{{ (atmos.Component "vpc" .stack).workspace }}'
                    via_other: '{{ (atmos.Component "db" .stack).vars.cidr_copy }}'
                  env:
                    VPC_NAME: '{{ (atmos.Component "vpc" .stack).vars.name }}'
                db:
                  vars:
                    cidr_copy: '{{ (atmos.Component "vpc" .stack).vars.cidr }}'
        """),
    })
    app = inst(stacks)
    net = InstanceRef(DEV, "net")
    assert {k: v for k, v in app.vars.items() if k != "net_id"} == {
        "tenant": "plat", "environment": "ue1", "stage": "dev", "cidr": "10.0.0.0/16",
        "name": "vpc-dev-app",  # vpc's own template rendered first, as Atmos describes vpc
        "tier": "2", "zones": ["a", "b"], "workspace": DEV,  # vpc's workspace: its stack name
        "via_other": "10.0.0.0/16",  # db's value, itself read from vpc, filled first
    }
    assert app.env == {"VPC_NAME": "vpc-dev"}
    # vpc's deferred output read through it stays deferred, with the edge to its parent
    assert app.vars["net_id"] == TerraformOutputRef(net, "id", source_file="stacks/deploy/dev.yaml")
    assert {(d.parent, d.via) for d in app.dependencies} == {(net, "terraform.output")}
    assert stacks.graph().digraph.has_edge(net, InstanceRef(DEV, "app"))


def test_atmos_component_sections_read_in_another_stack_and_reported_by_describe_affected(tmp_path):
    from stackflow.stacks_loader.affected import affected_between_trees
    from stackflow.stacks_loader.affected_scope import affected_scoped
    from stackflow.stacks_loader.source import FolderTree

    files = {
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {vars: {cidr: 10.9.0.0/16}}}}\n", stage="prod"),
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                peer:
                  vars:
                    prod_cidr: '{{ (atmos.Component "vpc" "plat-ue1-prod").vars.cidr }}'
        """),
    }
    base = load_repo(tmp_path / "base", files)
    assert inst(base, "peer").vars["prod_cidr"] == "10.9.0.0/16"
    files["stacks/deploy/prod.yaml"] = files["stacks/deploy/prod.yaml"].replace("10.9.0.0", "10.8.0.0")
    load_repo(tmp_path / "head", files)
    trees = FolderTree(tmp_path / "base"), FolderTree(tmp_path / "head")
    changed = ["stacks/deploy/prod.yaml"]
    scoped = affected_scoped(*trees, changed)
    # the reader in dev is affected too, though dev.yaml did not change and imports nothing of prod
    assert {str(r): f.reasons[0] for r, f in scoped.affected.items()} == {
        "plat-ue1-dev/peer": "stack.vars", "plat-ue1-prod/vpc": "stack.vars"}
    assert scoped.affected.keys() == affected_between_trees(*trees, changed).affected.keys()


def test_atmos_component_output_through_tojson_under_template_is_the_typed_output(tmp_path):
    # Atmos' recommended way to pass a list or map output on: !template '{{ toJson … }}'
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    ids: !template '{{ toJson (atmos.Component "vpc" .stack).outputs.private_subnet_ids }}'
                    cfg: !template '{{ (atmos.Component "vpc" .stack).outputs.cfg | toRawJson }}'
        """),
    })
    vpc = InstanceRef(DEV, "vpc")
    vars_ = inst(stacks).vars
    assert vars_["ids"] == TerraformOutputRef(vpc, "private_subnet_ids", source_file="stacks/deploy/dev.yaml")
    assert vars_["cfg"] == TerraformOutputRef(vpc, "cfg", source_file="stacks/deploy/dev.yaml")
    # without !template the value is the output's JSON text, as Atmos prints it (a string)
    from stackflow.stacks_loader.deferred import fill_deferred

    plain = load_repo(tmp_path / "plain", {"stacks/deploy/dev.yaml": ctx(
        "components: {terraform: {vpc: {}, app: {vars: {ids: '{{ toRawJson ((atmos.Component \"vpc\" .stack)"
        ".outputs.ids) }}', tagged: 'ids={{ toJson (atmos.Component \"vpc\" .stack).outputs.ids }}'}}}}\n")})
    plain_vars = inst(plain).vars
    assert plain_vars["ids"] == TerraformOutputRef(vpc, "ids", source_file="stacks/deploy/dev.yaml", encoding="toRawJson")
    assert str(plain_vars["ids"]) == f"!terraform.output vpc {DEV} ids | toRawJson"
    filled = fill_deferred(plain_vars, {vpc: {"ids": ["s-1", "s-<2>"]}}, dependent=f"{DEV}/app")
    assert (filled["ids"], filled["tagged"]) == ('["s-1","s-<2>"]', 'ids=["s-1","s-\\u003c2\\u003e"]')


def test_gomplate_tojson_of_an_atmos_component_output_is_its_text_once_known(tmp_path):
    from stackflow.stacks_loader.deferred import fill_deferred

    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(
        "components: {terraform: {vpc: {}, app: {vars: {sizes: '{{ (atmos.Component \"vpc\" .stack).outputs.sizes"
        " | toJSON }}', raw: '{{ data.ToJSON (atmos.Component \"vpc\" .stack).outputs.sizes }}'}}}}\n")})
    vpc = InstanceRef(DEV, "vpc")
    vars_ = inst(stacks).vars
    assert vars_["sizes"] == TerraformOutputRef(vpc, "sizes", source_file="stacks/deploy/dev.yaml", encoding="toJSON")
    assert inst(stacks).dependencies[0].parent == vpc
    filled = fill_deferred(vars_, {vpc: {"sizes": {"b": 0.5, "a": 2.0, "<": 1}}}, dependent=f"{DEV}/app")
    assert filled["sizes"] == filled["raw"] == '{"\\u003c":1,"a":2.0,"b":0.5}'  # as Gomplate's encoder writes it


def test_gomplate_tojsonpretty_of_an_atmos_component_output_keeps_its_indent_until_known(tmp_path):
    from stackflow.stacks_loader.deferred import fill_deferred

    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(
        "components: {terraform: {vpc: {}, app: {vars: {"
        "tabbed: '{{ (atmos.Component \"vpc\" .stack).outputs.sizes | toJSONPretty \"\\t\" }}', "
        "spaced: '{{ data.ToJSONPretty \"  \" (atmos.Component \"vpc\" .stack).outputs.sizes }}', "
        "typed: !template '{{ toJSONPretty \"  \" (atmos.Component \"vpc\" .stack).outputs.sizes }}'}}}}\n")})
    vpc = InstanceRef(DEV, "vpc")
    app = inst(stacks)
    assert app.vars["tabbed"] == TerraformOutputRef(vpc, "sizes", source_file="stacks/deploy/dev.yaml",
                                                    encoding="toJSONPretty", encoding_args=("\t",))
    assert str(app.vars["spaced"]) == f'!terraform.output vpc {DEV} sizes | data.ToJSONPretty "  "'
    assert [d.parent for d in app.dependencies] == [vpc]
    filled = fill_deferred(app.vars, {vpc: {"sizes": {"b": [0.5], "a": 2.0}}}, dependent=f"{DEV}/app")
    assert filled["tabbed"] == '{\n\t"a": 2.0,\n\t"b": [\n\t\t0.5\n\t]\n}'  # Gomplate's encoder, tab indent
    assert filled["spaced"] == '{\n  "a": 2.0,\n  "b": [\n    0.5\n  ]\n}'
    assert filled["typed"] == {"a": 2.0, "b": [0.5]}  # read back as JSON under !template: the value


def test_gomplate_tojsonpretty_refuses_an_indent_that_is_not_a_string(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(
            "components: {terraform: {vpc: {}, app: {vars: {"
            "x: '{{ toJSONPretty 2 (atmos.Component \"vpc\" .stack).outputs.sizes }}'}}}}\n")})
    message = str(err.value)
    assert "\n" not in message and "stacks/deploy/dev.yaml" in message and "toJSONPretty" in message


def test_quoted_delimiters_render_a_whole_value_template_read_back_as_yaml(tmp_path):
    from stackflow.stacks_loader.deferred import fill_deferred
    from stackflow.stacks_loader.model import TerraformOutputText

    # Atmos' documented delimiters ["'{{", "}}'"]: it renders the YAML it writes of the section,
    # where a value that is one template is written '{{ … }}': the quotes go, the output is YAML
    atmos = ATMOS_YAML + "templates:\n  settings:\n    delimiters: [\"'{{\", \"}}'\"]\n"
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            settings: {port: 8080, zones: [a, b]}
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    port: '{{ .settings.port }}'
                    zones: '{{ toJson .settings.zones }}'
                    text: 'stage-{{ .vars.stage }}'
                    ids: '{{ (atmos.Component "vpc" .stack).outputs.ids | toJson }}'
                    from_json: '{{ (atmos.Component "vpc" .stack).outputs.json_text }}'
        """),
    }, atmos=atmos)
    vars_ = inst(stacks).vars
    vpc = InstanceRef(DEV, "vpc")
    assert (vars_["port"], vars_["zones"]) == (8080, ["a", "b"])  # typed, as Atmos reads them back
    assert vars_["text"] == "stage-{{ .vars.stage }}"  # never between the quoted delimiters: text
    assert any("vars.text: not rendered" in w for w in stacks.warnings)
    assert vars_["ids"] == TerraformOutputRef(vpc, "ids", source_file="stacks/deploy/dev.yaml")
    assert vars_["from_json"] == TerraformOutputText((TerraformOutputRef(vpc, "json_text", source_file=""
                                                                           "stacks/deploy/dev.yaml"),), read_back=True)
    outputs = {vpc: {"ids": ["s-1"], "json_text": '{"a": 1}'}}
    assert fill_deferred({k: vars_[k] for k in ("ids", "from_json")}, outputs, dependent="x") == {
        "ids": ["s-1"], "from_json": {"a": 1}}


def test_quoted_delimiters_in_terraform_function_arguments_and_two_templates_in_one_value(tmp_path):
    atmos = ATMOS_YAML + "templates:\n  settings:\n    delimiters: [\"'{{\", \"}}'\"]\n"
    stacks = load_repo(tmp_path / "args", {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            vpc: {}
            app:
              vars:
                id: !terraform.state vpc '{{ .stack }}' id
    """)}, atmos=atmos)
    assert inst(stacks).vars["id"].parent == InstanceRef(DEV, "vpc")  # the quotes are the delimiters'
    with pytest.raises(ConfigError, match=r"vars.two: '\{\{ .vars.stage \}\}-\{\{ .vars.tenant \}\}': with "
                                          r"templates.settings.delimiters .* a value holds one template"):
        load_repo(tmp_path / "two", {"stacks/deploy/dev.yaml": ctx(
            "components: {terraform: {app: {vars: {two: '{{ .vars.stage }}-{{ .vars.tenant }}'}}}}\n")}, atmos=atmos)


def test_atmos_component_waits_for_the_component_stage_in_a_file_with_locals(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            locals: {name: app-1}
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    name: '{{ .locals.name }}'
                    vpc_id: '{{ (atmos.Component "vpc" .stack).outputs.vpc_id }}'
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["name"] == "app-1"
    assert vars_["vpc_id"] == TerraformOutputRef(InstanceRef(DEV, "vpc"), "vpc_id", source_file="stacks/deploy/dev.yaml")


def test_component_level_templates_render_from_the_instances_values(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    name: "{{ .vars.tenant }}-{{ .vars.stage }}-{{ .atmos_component }}"
                    where: "{{ .stack }} in {{ .workspace }}"
                    raw: '{{ "{{" }} .kept }}'
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["name"] == "plat-dev-app" and vars_["where"] == f"{DEV} in {DEV}"
    assert vars_["raw"] == "{{ .kept }}"


def test_exec_is_refused_unless_allowed_and_then_kept_deferred(tmp_path):
    files = {"stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {v: !exec echo hi}}}}\n")}
    with pytest.raises(ConfigError, match=r"stacks/deploy/dev.yaml:\d+: !exec is refused"):
        load_repo(tmp_path, files)
    stacks = load_repo(tmp_path, files, allow_exec=True)
    assert inst(stacks).vars["v"] == ExecRef("echo hi", "stacks/deploy/dev.yaml")


def test_store_and_secret_are_kept_as_written_for_describe_graph_and_affected(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            app:
              vars:
                id: !store ssm vpc id | default "none"
                raw: !store.get ssm /global/key
                api_key: !secret API_KEY
    """)})
    vars_ = inst(stacks).vars
    assert vars_["id"] == StoreRef("store", 'ssm vpc id | default "none"')
    assert (vars_["raw"], vars_["api_key"]) == (StoreRef("store.get", "ssm /global/key"), StoreRef("secret", "API_KEY"))
    assert inst(stacks).dependencies == []  # Atmos reads no dependency from a store either
    described = describe_component(stacks, "app", "plat-ue1-dev")
    assert described["vars"]["api_key"] == "!secret API_KEY"


def test_a_run_needing_a_store_value_is_refused_before_anything_is_planned(tmp_path):
    repo = tmp_path / "repo"
    load_repo(repo, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            app: {vars: {api_key: !secret API_KEY}}
            web: {vars: {size: 1}}
    """)})
    with pytest.raises(ConfigError, match=r"stacks/deploy/dev.yaml: stack 'plat-ue1-dev' component 'app': "
                                          r"vars.api_key: !secret API_KEY: stackflow does not read Atmos stores"):
        select_target(repo, {}, [], all_instances=True)
    assert [str(r) for r in select_target(repo, {}, ["plat-ue1-dev/web"]).graph.order()] == ["plat-ue1-dev/web"]


def test_scalars_are_typed_as_go_yaml_types_them(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars: {country: NO, answer: yes, date: 2024-01-01, exp: 1e3, t: true, octal: 0o17, nothing: ~}
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["country"] == "NO" and vars_["answer"] == "yes" and vars_["date"] == "2024-01-01"
    assert vars_["exp"] == 1000.0 and vars_["t"] is True and vars_["octal"] == 15 and vars_["nothing"] is None


def test_env_inside_an_included_yaml_file_is_resolved_too(tmp_path):
    stacks = load_repo(tmp_path, {
        "config/backend.yaml": "bucket: !env STATE_BUCKET default-bucket\n",
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {backend: !include config/backend.yaml}}}}\n"),
    }, environ={"STATE_BUCKET": "from-env"})
    assert inst(stacks).vars["backend"] == {"bucket": "from-env"}


def test_templates_disabled_in_atmos_yaml_keeps_component_values_literal(tmp_path):
    from .repos import ATMOS_YAML

    stacks = load_repo(tmp_path, {
        "atmos.yaml": ATMOS_YAML + "templates:\n  settings:\n    enabled: false\n",
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {name: '{{ .vars.stage }}'}}}}\n"),
    })
    assert inst(stacks).vars["name"] == "{{ .vars.stage }}"


def test_yaml_functions_behind_anchors_and_aliases_are_found_wherever_they_land(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend:
                s3: {bucket: &bucket !env BUCKET default-bucket}
            components:
              terraform:
                vpc: {}
                app:
                  vars:
                    bucket: *bucket
                    ref: &ref !terraform.output vpc vpc_id
                    again: *ref
        """),
    }, environ={"BUCKET": "from-env"})
    app = inst(stacks)
    assert app.vars["bucket"] == "from-env" and app.backend["bucket"] == "from-env"
    assert isinstance(app.vars["again"], TerraformOutputRef)


def test_metadata_templates_render_before_the_folder_and_state_prefix_are_chosen(tmp_path):
    # Atmos renders the whole component section, metadata included
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc-2/main.tf": "",
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: state}}
            components:
              terraform:
                vpc:
                  settings: {ver: "2"}
                  metadata: {component: "vpc-{{ .settings.ver }}"}
        """),
    })
    inst = stacks.instances[InstanceRef("plat-ue1-dev", "vpc")]
    assert inst.metadata["component"] == "vpc-2"
    assert inst.component_path == inst.described_path == "components/terraform/vpc-2"
    assert inst.backend["workspace_key_prefix"] == "vpc-2"
    assert stacks.warnings == []


def test_literal_keeps_template_syntax_as_written_where_templates_render(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    name: "{{ .vars.stage }}-app"
                    annotation: !literal "{{ .Values.ingress.class }}"
                    users: [!literal "{{external.email}}", "{{ .vars.tenant }}"]
                    script: !literal |
                      echo "${USER}" {{value}}
        """),
    })
    vars_ = inst(stacks).vars
    assert vars_["name"] == "dev-app"  # the stack renders templates, just not the literals
    assert vars_["annotation"] == "{{ .Values.ingress.class }}"
    assert vars_["users"] == ["{{external.email}}", "plat"]
    assert vars_["script"] == 'echo "${USER}" {{value}}\n'
    # shown and written as plain strings
    assert type(describe_component(stacks, "app", DEV)["vars"]["annotation"]) is str


def test_literal_of_a_map_is_one_line_naming_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^stacks/deploy/dev.yaml:2: !literal takes a string argument, not a "
                                          r"mapping$"):
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {v: !literal "
                                                           "{a: 1}}}}}\n")})


@pytest.mark.parametrize(("expression", "output", "path", "default"), [
    ('.username // "default-user"', "username", "", '"default-user"'),
    ('.private_subnet_ids // ["mock-subnet1", "mock-subnet2"]', "private_subnet_ids", "",
     '["mock-subnet1", "mock-subnet2"]'),
    ('.config_map.api // {"api_endpoint": "localhost:3000"}', "config_map", ".api",
     '{"api_endpoint": "localhost:3000"}'),
    ('.ids[0]//7', "ids", "[0]", "7"),
])
def test_terraform_output_takes_a_yq_default_as_atmos_documents(tmp_path, expression, output, path, default):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(f"""
        components:
          terraform:
            vpc: {{}}
            app:
              vars:
                v: !terraform.output 'vpc {expression}'
                s: !terraform.state 'vpc plat-ue1-dev {expression}'
    """)})
    vars_ = inst(stacks).vars
    for key, function in (("v", "terraform.output"), ("s", "terraform.state")):
        assert vars_[key] == TerraformOutputRef(InstanceRef(DEV, "vpc"), output, path, function,
                                                source_file="stacks/deploy/dev.yaml", default=default)
    assert str(vars_["v"]).endswith(f" // {default}")
    assert InstanceRef(DEV, "vpc") in {d.parent for d in inst(stacks).dependencies}


@pytest.mark.parametrize(("expression", "message"), [
    (".ids //", "nothing after '//'"),
    (".ids // [unclosed", "default '[unclosed' is not a YAML or JSON value"),
    (".ids | length", "no other yq operators"),
])
def test_a_bad_yq_default_is_one_line(tmp_path, expression, message):
    with pytest.raises(ConfigError) as exc:
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(f"""
            components:
              terraform:
                vpc: {{}}
                app: {{vars: {{v: !terraform.output 'vpc {expression}'}}}}
        """)})
    assert str(exc.value).startswith("stacks/deploy/dev.yaml:") and message in str(exc.value)


def test_template_function_renders_then_reads_json_as_atmos_does(tmp_path):
    stacks = load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx("""
        components:
          terraform:
            app:
              settings: {cidrs: [10.0.0.0/24, 10.0.1.0/24], conf: {a: 1}}
              vars:
                cidrs: !template '{{ toJson .settings.cidrs }}'
                conf: !template '{{ .settings.conf | toJson }}'
                nested: [!template '{{ toJson .settings.conf }}']
                literal: !template '[1, 2]'
                text: !template 'not json in {{ .stack }}'
    """)})
    vars_ = inst(stacks).vars
    assert vars_["cidrs"] == ["10.0.0.0/24", "10.0.1.0/24"] and vars_["conf"] == {"a": 1}
    assert vars_["nested"] == [{"a": 1}] and vars_["literal"] == [1, 2]
    assert vars_["text"] == "not json in plat-ue1-dev"


def test_a_template_function_without_a_template_is_json_before_the_merge(tmp_path):
    # decoded at load, as Atmos' ProcessTemplateTagsOnly: an append strategy then sees a list
    stacks = load_repo(tmp_path, {
        "atmos.yaml": ATMOS_APPEND,
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {ids: [a]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/app]\ncomponents:\n  terraform:\n    app:\n"
                                      "      vars:\n        ids: !template '[\"b\"]'\n"),
    })
    assert inst(stacks).vars["ids"] == ["a", "b"]
