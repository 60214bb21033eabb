"""`!append` and `!unset`, as Atmos merges and removes them.

`!append`: each deep merge appends the list to the one below it, whatever `list_merge_strategy`
says; Atmos settles it in the first merge it takes part in (a manifest with its imports, the bases
of a component, the final merge of a component's layers), where nothing below means just the list.
`!unset`: the text `!unset`, merged as any value, then removed (map entries and list items) from
the component's resolved sections.
"""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
import yaml

from stackflow.cli.options import emit
from stackflow.stacks_loader.affected import affected_between_trees
from stackflow.stacks_loader.affected_scope import affected_scoped
from stackflow.stacks_loader.describe import describe_stacks
from stackflow.stacks_loader.merge import Tail, merge, merge_all
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.source import FolderTree
from stackflow.stacks_loader.yaml_functions import AppendList

from .repos import ATMOS_YAML, ctx, load_repo, write_repo

DEV = "plat-ue1-dev"


def inst(stacks, component: str = "app", stack: str = DEV):
    return stacks.instances[InstanceRef(stack, component)]


def plain(value) -> bool:
    """No `AppendList` anywhere in `value`: only plain lists, as the dumpers need."""
    if isinstance(value, dict):
        return all(plain(v) for v in value.values())
    if isinstance(value, list):
        return type(value) is list and all(plain(v) for v in value)
    return True


# `!append`

def test_append_adds_to_the_list_an_import_sets_for_the_same_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app:
                  vars: {zones: [a, b], size: 1}
                  settings: {depends_on: [vpc]}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars:
                    zones: !append [c]
                  settings:
                    depends_on: !append [iam]
        """),
    })
    app = inst(stacks)
    assert app.vars["zones"] == ["a", "b", "c"] and app.vars["size"] == 1
    assert app.settings["depends_on"] == ["vpc", "iam"]
    assert plain(app.vars) and plain(app.settings)


def test_appends_in_a_chain_of_imports_add_up_in_import_order(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/base.yaml": "components: {terraform: {app: {settings: {groups: [sg-base]}}}}\n",
        "stacks/catalog/staging.yaml": """
            import: [catalog/base]
            components: {terraform: {app: {settings: {groups: !append [sg-staging]}}}}
        """,
        "stacks/mixins/east.yaml": "components: {terraform: {app: {settings: {groups: !append [sg-east]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/staging, mixins/east]
            components: {terraform: {app: {settings: {groups: !append [sg-dev]}}}}
        """),
    })
    assert inst(stacks).settings["groups"] == ["sg-base", "sg-staging", "sg-east", "sg-dev"]


def test_append_over_a_base_component_of_the_same_manifest(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app/base:
                  metadata: {type: abstract, component: app}
                  vars: {zones: [a]}
                app/regional:
                  metadata: {type: abstract, inherits: [app/base]}
                  vars: {zones: !append [b]}
                app:
                  metadata: {inherits: [app/regional]}
                  vars: {zones: !append [c]}
                other:
                  metadata: {component: app, inherits: [app/base]}
                  vars: {zones: [z]}
        """),
    })
    assert inst(stacks).vars["zones"] == ["a", "b", "c"]
    assert inst(stacks, "other").vars["zones"] == ["z"]  # a plain list still replaces
    assert plain(inst(stacks).vars)


def test_append_through_global_terraform_and_component_layers(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": """
            vars: {tenant: plat, environment: ue1, stage: dev, tags: [global]}
            terraform:
              vars: {tags: !append [terraform]}
            components:
              terraform:
                app:
                  vars: {tags: !append [app]}
                vpc:
                  vars: {name: vpc}
        """,
    })
    assert inst(stacks).vars["tags"] == ["global", "terraform", "app"]
    assert inst(stacks, "vpc").vars["tags"] == ["global", "terraform"]
    assert plain(inst(stacks, "vpc").vars)


def test_an_import_merge_settles_append_before_the_component_layers_as_atmos_does(tmp_path):
    # Atmos merges a manifest with its imports first: an `!append` list with nothing at the
    # same key path in the imports becomes a plain list there, so it replaces an inherited one
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            vars: {tags: [global]}
            components:
              terraform:
                app/base:
                  metadata: {type: abstract, component: app}
                  vars: {zones: [a]}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            terraform:
              vars: {tags: !append [terraform]}
            components:
              terraform:
                app:
                  metadata: {inherits: [app/base]}
                  vars: {zones: !append [b]}
        """),
    })
    assert inst(stacks).vars["zones"] == ["b"]
    assert inst(stacks).vars["tags"] == ["terraform"]
    assert plain(inst(stacks).vars)


@pytest.mark.parametrize(("strategy", "plain_result"), [
    ("replace", [{"size": 2}]),
    ("append", [{"name": "a", "size": 1}, "b", {"size": 2}]),
    ("merge", [{"name": "a", "size": 2}, "b"]),
])
def test_append_appends_whatever_the_list_merge_strategy(tmp_path, strategy, plain_result):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app:
                  vars:
                    appended: [{name: a, size: 1}, b]
                    plain: [{name: a, size: 1}, b]
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars:
                    appended: !append [{name: c}]
                    plain: [{size: 2}]
        """),
    }, atmos=ATMOS_YAML + f"settings: {{list_merge_strategy: {strategy}}}\n")
    app = inst(stacks)
    assert app.vars["appended"] == [{"name": "a", "size": 1}, "b", {"name": "c"}]
    assert app.vars["plain"] == plain_result  # a list without `!append` follows the strategy
    assert plain(app.vars)


def test_append_appends_under_a_components_own_list_merge_strategy_too(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app/base:
                  metadata: {type: abstract, component: app}
                  vars: {zones: [a], other: [a]}
                app:
                  metadata: {inherits: [app/base]}
                  settings: {list_merge_strategy: merge}
                  vars: {zones: !append [b], other: [b, c]}
        """),
    })
    assert inst(stacks).vars["zones"] == ["a", "b"]
    assert inst(stacks).vars["other"] == ["a", "c"]  # element-wise: the earlier `a` stays


def test_append_with_nothing_below_is_just_the_list(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {size: 1}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars: {zones: !append [a, b]}
                solo:
                  metadata: {component: app}
                  vars: {zones: !append [z]}
        """),
        "stacks/deploy/prod.yaml": """
            vars: {tenant: plat, environment: ue1, stage: prod}
            components: {terraform: {app: {vars: {zones: !append [p]}}}}
        """,
    })
    assert inst(stacks).vars["zones"] == ["a", "b"]
    assert inst(stacks, "solo").vars["zones"] == ["z"]
    prod = inst(stacks, stack="plat-ue1-prod")
    assert prod.vars["zones"] == ["p"] and type(prod.vars["zones"]) is list


def test_append_over_a_scalar_or_a_map_below_is_the_list(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app:
                  vars: {zones: none, rules: {a: 1}, empty: null}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars: {zones: !append [a], rules: !append [r], empty: !append [e]}
        """),
    })
    app = inst(stacks)
    assert (app.vars["zones"], app.vars["rules"], app.vars["empty"]) == (["a"], ["r"], ["e"])
    assert plain(app.vars)


def test_append_inside_nested_maps(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app:
                  settings:
                    alarms:
                      cpu: {targets: [ops], threshold: 80}
                      disk: {targets: [ops]}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  settings:
                    alarms:
                      cpu: {targets: !append [dev-team]}
        """),
    })
    assert inst(stacks).settings["alarms"] == {
        "cpu": {"targets": ["ops", "dev-team"], "threshold": 80},
        "disk": {"targets": ["ops"]},
    }


@pytest.mark.parametrize(("strategy", "expected"), [("replace", ["b"]), ("append", ["a", "b"])])
def test_a_plain_list_merged_later_over_an_append(tmp_path, strategy, expected):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/one.yaml": "components: {terraform: {app: {vars: {zones: !append [a]}}}}\n",
        "stacks/catalog/two.yaml": "components: {terraform: {app: {vars: {zones: [b]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/one, catalog/two]\n"),
    }, atmos=ATMOS_YAML + f"settings: {{list_merge_strategy: {strategy}}}\n")
    assert inst(stacks).vars["zones"] == expected


def test_append_on_a_map_or_a_scalar_reads_the_value_as_written(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {tags: {a: 1}, size: 1}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars:
                    tags: !append {b: 2}
                    size: !append 5
                    name: !append "5"
        """),
    })
    assert inst(stacks).vars["tags"] == {"a": 1, "b": 2}  # an ordinary map merge
    assert inst(stacks).vars["size"] == 5 and inst(stacks).vars["name"] == "5"


def test_items_of_an_append_list_are_still_resolved(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {names: [base]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars:
                    names: !append [!env REGION, "{{ .vars.stage }}"]
        """),
    }, environ={"REGION": "eu-west-1"})
    assert inst(stacks).vars["names"] == ["base", "eu-west-1", "dev"]


def test_file_locals_render_inside_an_append_list(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {names: [base]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            locals:
              team: platform
            import: [catalog/app]
            components:
              terraform:
                app:
                  vars:
                    names: !append ["{{ .locals.team }}"]
        """),
    })
    assert inst(stacks).vars["names"] == ["base", "platform"]


def test_append_in_atmos_yaml_adds_to_what_its_imports_set(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": ATMOS_YAML.replace('stacks:\n', 'import: [config/paths]\nstacks:\n').replace(
            'included_paths: ["deploy/**/*"]', 'included_paths: !append ["extra/**/*"]'),
        "config/paths.yaml": 'stacks: {included_paths: ["deploy/**/*"]}\n',
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {}}}\n"),
        "stacks/extra/prod.yaml": ctx("components: {terraform: {app: {}}}\n", stage="prod"),
    })
    assert {ref.stack for ref in stacks.instances} == {DEV, "plat-ue1-prod"}
    assert list(stacks.atmos.included_paths) == ["deploy/**/*", "extra/**/*"]


@pytest.mark.parametrize("strategy", ["replace", "append"])
@pytest.mark.parametrize(("below", "expected"), [
    ({}, {"replace": ["low", "b"], "append": ["low", "b"]}),
    ({"k": 1}, {"replace": ["b"], "append": ["b"]}),
    ({"k": {"x": 1}}, {"replace": ["b"], "append": ["b"]}),
    ({"k": ["a"]}, {"replace": ["a", "b"], "append": ["low", "a", "b"]}),
    ({"k": AppendList(["a"])}, {"replace": ["low", "a", "b"], "append": ["low", "a", "b"]}),
], ids=["nothing", "scalar", "map", "list", "append"])
def test_a_merge_grouped_upper_layers_first_appends_as_the_left_to_right_one(strategy, below, expected):
    # `Tail` merges the upper layers once, then lays them over each lowest layer:
    # lowest + (middle + upper) must equal (lowest + middle) + upper
    lowest, upper = {"k": ["low"], "other": 1}, {"k": AppendList(["b"])}
    left = merge(merge(lowest, below, strategy), upper, strategy)
    right = Tail(strategy, below, upper).over(lowest)
    assert left["k"] == right["k"] == merge_all([lowest, below, upper], strategy)["k"] == expected[strategy]
    assert right["other"] == 1


# `!unset`

def test_unset_removes_a_var_inherited_from_a_base_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app/base:
                  metadata: {type: abstract, component: app}
                  vars: {size: 1, zone: a}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  metadata: {inherits: [app/base]}
                  vars:
                    zone: !unset
        """),
    })
    assert inst(stacks).vars == {"tenant": "plat", "environment": "ue1", "stage": "dev", "size": 1}


def test_unset_removes_a_global_var_for_one_component_only(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": """
            vars: {tenant: plat, environment: ue1, stage: dev, region: us-east-1}
            components:
              terraform:
                app:
                  vars:
                    region: !unset
                vpc: {}
        """,
    })
    assert "region" not in inst(stacks).vars
    assert inst(stacks, "vpc").vars["region"] == "us-east-1"


def test_unset_removes_a_nested_key_and_list_items(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                app:
                  settings:
                    alarms: {cpu: 80, memory: 90}
                  vars:
                    subnets: [a, !unset , b, !unset ignored text]
                    rules:
                      - {name: r1, port: 80}
                      - name: r2
                        port: !unset
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  settings:
                    alarms:
                      memory: !unset
        """),
    })
    app = inst(stacks)
    assert app.settings["alarms"] == {"cpu": 80}
    assert app.vars["subnets"] == ["a", "b"]
    assert app.vars["rules"] == [{"name": "r1", "port": 80}, {"name": "r2"}]


def test_unset_then_set_again_higher_up(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {team: catalog, size: 1}}}}\n",
        "stacks/mixins/no-team.yaml": "components: {terraform: {app: {vars: {team: !unset , size: !unset }}}}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app, mixins/no-team]
            components:
              terraform:
                app:
                  vars: {team: platform}
        """),
    })
    assert inst(stacks).vars["team"] == "platform"
    assert "size" not in inst(stacks).vars


def test_unset_of_a_key_never_set_leaves_nothing(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    size: 1
                    ghost: !unset
                  env:
                    GHOST: !unset
        """),
    })
    assert inst(stacks).vars == {"tenant": "plat", "environment": "ue1", "stage": "dev", "size": 1}
    assert inst(stacks).env == {}


def test_unset_text_from_quotes_or_templates_is_removed_as_atmos_does(tmp_path):
    # Atmos removes any string value starting with `!unset`, once templates are rendered
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  vars:
                    quoted: "!unset"
                    debug: '{{ if eq .vars.stage "dev" }}!unset{{ else }}off{{ end }}'
                    kept: "unset!"
        """),
    })
    assert inst(stacks).vars == {"tenant": "plat", "environment": "ue1", "stage": "dev", "kept": "unset!"}


def test_dependencies_are_read_after_unset(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                vpc: {}
                app:
                  settings:
                    depends_on:
                      1: {component: vpc}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            components:
              terraform:
                app:
                  settings:
                    depends_on:
                      1: !unset
        """),
    })
    assert inst(stacks).settings["depends_on"] == {}
    assert inst(stacks).dependencies == []


# output

def test_describe_stacks_shows_plain_lists_and_no_unset(tmp_path, capsys):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend:
                s3:
                  bucket: state
                  acl: !unset
            components:
              terraform:
                app:
                  vars:
                    zones: !append [a]
                    gone: !unset
                    nested: {list: !append [x, !unset ]}
                  settings: {owners: !append [me]}
        """),
    })
    data = describe_stacks(stacks)
    app = data[DEV]["components"]["terraform"]["app"]
    assert app["vars"]["zones"] == ["a"] and app["vars"]["nested"] == {"list": ["x"]}
    assert "gone" not in app["vars"] and "acl" not in app["backend"]
    emit(data, "json")
    text = capsys.readouterr().out
    assert json.loads(text)[DEV]["components"]["terraform"]["app"]["settings"]["owners"] == ["me"]
    emit(data, "yaml")  # SafeDumper refuses any list subclass
    text = capsys.readouterr().out
    assert "!unset" not in text and "AppendList" not in text
    assert yaml.safe_load(text)[DEV]["components"]["terraform"]["app"]["vars"]["zones"] == ["a"]
    assert all(plain(getattr(i, f.name)) for i in stacks.instances.values() for f in fields(i))


def test_affected_sees_a_change_inside_append_or_unset_and_scoped_agrees(tmp_path):
    files = {
        "stacks/catalog/app.yaml": "components: {terraform: {app: {vars: {zones: [a], size: 1}}}}\n",
        "stacks/mixins/dev.yaml": "components: {terraform: {app: {vars: {zones: !append [b]}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/app, mixins/dev]\n"),
        "stacks/deploy/prod.yaml": ctx("import: [catalog/app]\n", stage="prod"),
        "components/terraform/app/main.tf": "variable \"zones\" {}\n",
    }
    base = write_repo(tmp_path / "base", files)
    head = write_repo(tmp_path / "head", {
        **files, "stacks/mixins/dev.yaml": "components: {terraform: {app: {vars: {zones: !append [c], size: !unset }}}}\n",
    })
    changed = ["stacks/mixins/dev.yaml"]
    full = affected_between_trees(FolderTree(base), FolderTree(head), changed)
    scoped = affected_scoped(FolderTree(base), FolderTree(head), changed)
    assert sorted(map(str, full.affected)) == sorted(map(str, scoped.affected)) == [f"{DEV}/app"]
