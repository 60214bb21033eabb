"""YAML functions merged once resolved (Atmos 1.226), and `!tags` / `!labels` (Atmos 1.223).

A post-merge YAML function (`!template`, `!env`, `!terraform.*`, `!store`, `!exec`, `!tags`,
`!labels`…) and a value at the same key path in another of a component's four layers (stack
globals, bases, own, file overrides) are merged after the function is resolved: maps deep-merge
whichever side the function is on, lists follow `list_merge_strategy`, a null does not remove the
function. `!tags` / `!labels` read the instance's own merged metadata.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from stackflow.stacks_loader.deferred_merge import merge_deferred_values
from stackflow.stacks_loader.model import InstanceRef, TerraformOutputRef

from stackflow.errors import ConfigError

from .repos import ATMOS_YAML, ctx, load_repo, write_repo

DEV = "plat-ue1-dev"
TEMPLATES = ATMOS_YAML + "templates:\n  settings:\n    enabled: true\n    sprig: {enabled: true}\n"


def inst(stacks, component: str = "app", stack: str = DEV):
    return stacks.instances[InstanceRef(stack, component)]


def folders(*names: str) -> dict[str, str]:
    return {f"components/terraform/{name}/main.tf": 'variable "x" {}\n' for name in names}


# --- !tags / !labels ---------------------------------------------------------------------------

def test_tags_and_labels_read_the_instances_own_merged_metadata(tmp_path):
    stacks = load_repo(tmp_path, {
        **folders("app"),
        "stacks/deploy/dev.yaml": ctx("""
            metadata:
              labels: {team: core}
            components:
              terraform:
                app-defaults:
                  metadata: {type: abstract, component: app, tags: [base], labels: {tier: "1"}}
                  vars:
                    from_base: !tags
                app:
                  metadata: {inherits: [app-defaults], tags: [web, 7, api], labels: {owner: ops, size: 2}}
                  vars:
                    tag_list: !tags
                    labels: !labels
                    keys: !labels.keys
                    values: !labels.values
                    nested: {deeper: [!tags , x]}
                  settings:
                    owners: !labels
        """),
    })
    app = inst(stacks)
    # the base's `!tags` is read with the instance's metadata (non-strings dropped, as Atmos)
    assert app.vars["from_base"] == app.vars["tag_list"] == ["web", "api"]
    # stack-wide labels, then the base's, then its own; labels that are not strings dropped
    assert app.vars["labels"] == {"owner": "ops", "team": "core", "tier": "1"}
    assert app.vars["keys"] == ["owner", "team", "tier"] and app.vars["values"] == ["ops", "core", "1"]
    assert app.vars["nested"] == {"deeper": [["web", "api"], "x"]}
    assert app.settings["owners"] == app.vars["labels"]
    base = inst(stacks, "app-defaults")
    assert base.vars["from_base"] == ["base"]


def test_tags_without_metadata_tags_are_empty(tmp_path):
    stacks = load_repo(tmp_path, {
        **folders("app"),
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  metadata: {tags: not-a-list}
                  vars:
                    tags: !tags
                    labels: !labels
                    keys: !labels.keys
        """),
    })
    assert inst(stacks).vars == {"tenant": "plat", "environment": "ue1", "stage": "dev",
                                 "tags": [], "labels": {}, "keys": []}


@pytest.mark.parametrize("value, message", [
    ("!tags extra", "!tags takes no arguments"),
    ("!labels.keys [a]", "!labels.keys takes no arguments"),
])
def test_metadata_functions_take_no_arguments(tmp_path, value, message):
    with pytest.raises(ConfigError, match=f"stacks/deploy/dev.yaml:[0-9]+: {message}"):
        load_repo(tmp_path, {
            **folders("app"),
            "stacks/deploy/dev.yaml": ctx(f"components:\n  terraform:\n    app:\n      vars:\n        t: {value}\n"),
        })


def test_metadata_functions_inside_metadata_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="component 'app': metadata uses !tags or !labels"):
        load_repo(tmp_path, {
            **folders("app"),
            "stacks/deploy/dev.yaml": ctx("""
                components:
                  terraform:
                    app:
                      metadata: {tags: [a], labels: {copy: !tags }}
            """),
        })


# --- merged once resolved ----------------------------------------------------------------------

CATALOG = """
    components:
      terraform:
        app-defaults:
          metadata: {type: abstract, component: app, tags: [X, Y], labels: {X: "1", Y: "2"}}
          settings:
            defaults: {enabled: true, timeout: 30}
          vars:
            config: !template '{{ toJson .settings.defaults }}'
            zones: !template '{{ list "a" "b" | toJson }}'
            labels: !labels
            tag_list: !tags
            name: !env APP_NAME
            mirror: {enabled: true, base_only: "yes"}
            combo: !template '{{ dict "a" "1" "b" "2" | toJson }}'
"""


def load_merged(tmp_path, body: str, *, atmos: str = TEMPLATES, environ=None):
    return load_repo(tmp_path, {
        **folders("app", "vpc"),
        "stacks/catalog/app.yaml": CATALOG,
        "stacks/deploy/dev.yaml": ctx("import: [catalog/app]\n" + textwrap.dedent(body)),
    }, environ or {"APP_NAME": "from-env"}, atmos=atmos)


def test_a_function_and_a_map_in_another_layer_deep_merge_whichever_is_higher(tmp_path):
    app = inst(load_merged(tmp_path, """
        components:
          terraform:
            app:
              metadata: {inherits: [app-defaults]}
              vars:
                config: {timeout: 60, extra: x}
                labels: {Z: override}
                mirror: !template '{{ toJson (dict "new_key" "new_value") }}'
                combo:
                  nested: !template '{{ "nested-value" }}'
                  plain: concrete
    """))
    assert app.vars["config"] == {"enabled": True, "timeout": 60, "extra": "x"}
    assert app.vars["labels"] == {"X": "1", "Y": "2", "Z": "override"}
    assert app.vars["mirror"] == {"enabled": True, "base_only": "yes", "new_key": "new_value"}
    # a function at the parent path in one layer, another at a child path in the next: both kept
    assert app.vars["combo"] == {"a": "1", "b": "2", "nested": "nested-value", "plain": "concrete"}


def test_lists_follow_the_strategy_the_component_sets(tmp_path):
    body = """
        components:
          terraform:
            app:
              metadata: {inherits: [app-defaults]}
              settings: %s
              vars:
                tag_list: [Z]
                zones: [c]
    """
    replaced = inst(load_merged(tmp_path / "r", body % "{}"))
    assert replaced.vars["tag_list"] == ["Z"] and replaced.vars["zones"] == ["c"]
    appended = inst(load_merged(tmp_path / "a", body % "{list_merge_strategy: append}"))
    assert appended.vars["tag_list"] == ["X", "Y", "Z"] and appended.vars["zones"] == ["a", "b", "c"]


def test_a_scalar_above_a_function_wins_and_a_null_does_not_remove_it(tmp_path):
    app = inst(load_merged(tmp_path, """
        components:
          terraform:
            app:
              metadata: {inherits: [app-defaults]}
              vars:
                config: just-a-string
                name: null
    """))
    assert app.vars["config"] == "just-a-string"
    assert app.vars["name"] == "from-env"


def test_within_the_bases_a_later_base_replaces_a_function_as_any_value(tmp_path):
    # Atmos merges the inheritance chain plainly: only the four layers of the final merge defer
    app = inst(load_merged(tmp_path, """
        components:
          terraform:
            flipper:
              metadata: {type: abstract, component: app}
              vars: {config: middle-scalar}
            app:
              metadata: {inherits: [app-defaults, flipper]}
              vars:
                config: {c: "3"}
    """))
    assert app.vars["config"] == {"c": "3"}


def test_file_overrides_are_a_layer_of_their_own(tmp_path):
    app = inst(load_merged(tmp_path, """
        overrides:
          vars:
            config: {from_overrides: true}
        components:
          terraform:
            app:
              metadata: {inherits: [app-defaults]}
    """))
    assert app.vars["config"] == {"enabled": True, "timeout": 30, "from_overrides": True}


def test_env_function_and_a_stack_wide_value_merge_in_env_section(tmp_path):
    stacks = load_repo(tmp_path, {
        **folders("app"),
        "stacks/deploy/dev.yaml": ctx("""
            settings:
              owner: {team: core}
            components:
              terraform:
                app:
                  settings:
                    owner: !template '{{ toJson (dict "oncall" "ops") }}'
        """),
    }, {}, atmos=TEMPLATES)
    assert inst(stacks).settings["owner"] == {"team": "core", "oncall": "ops"}


def test_backend_is_merged_plainly(tmp_path):
    # Atmos defers only vars, settings, env, providers, auth, required_providers, hooks, generate
    stacks = load_repo(tmp_path, {
        **folders("app"),
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend:
                s3: {bucket: !template '{{ printf "acme-%s" .vars.stage }}', key: base}
            components:
              terraform:
                app:
                  backend:
                    s3: {region: us-east-1}
        """),
    }, {}, atmos=TEMPLATES)
    assert inst(stacks).backend == {"bucket": "acme-dev", "key": "base", "region": "us-east-1",
                                    "workspace_key_prefix": "app"}


def test_a_function_under_a_key_another_layer_makes_a_scalar_is_atmos_navigate_error(tmp_path):
    with pytest.raises(ConfigError, match=r"vars\.config\.name: a YAML function sets this key, but another "
                                          r"layer makes vars\.config a str, not a map"):
        load_repo(tmp_path, {
            **folders("app"),
            "stacks/deploy/dev.yaml": ctx("""
                components:
                  terraform:
                    base:
                      metadata: {type: abstract, component: app}
                      vars:
                        config: {name: !env NAME}
                    app:
                      metadata: {inherits: [base]}
                      vars: {config: flat}
            """),
        }, {"NAME": "n"})


# --- values known only at run time ------------------------------------------------------------

RUNTIME_BASE = """
    components:
      terraform:
        vpc:
          vars: {}
        app-defaults:
          metadata: {type: abstract, component: app}
          vars:
            vpc_id: !terraform.output vpc id
            subnets: !terraform.output vpc subnets
            name: fixed
"""


def load_runtime(tmp_path, own_vars: str):
    return load_repo(tmp_path, {
        **folders("app", "vpc"),
        "stacks/deploy/dev.yaml": ctx(RUNTIME_BASE + f"""
        app:
          metadata: {{inherits: [app-defaults]}}
          vars: {own_vars}
""".replace("\n        app:", "\n        app:")),
    })


def test_a_scalar_or_a_replacing_list_over_an_output_needs_no_output(tmp_path):
    stacks = load_runtime(tmp_path, "{vpc_id: vpc-123, subnets: [a, b]}")
    app = inst(stacks)
    assert app.vars["vpc_id"] == "vpc-123" and app.vars["subnets"] == ["a", "b"]


def test_an_output_over_a_scalar_stays_deferred_with_its_edge(tmp_path):
    stacks = load_runtime(tmp_path, "{name: !terraform.output vpc name}")
    app = inst(stacks)
    assert isinstance(app.vars["name"], TerraformOutputRef) and app.vars["name"].output == "name"
    assert InstanceRef(DEV, "vpc") in {dep.parent for dep in app.dependencies}


def test_an_output_and_a_map_cannot_be_merged_before_the_run(tmp_path):
    with pytest.raises(ConfigError, match=r"stack 'plat-ue1-dev' component 'app': vars\.vpc_id: Atmos merges the "
                                          r"values set for it in several layers \(!terraform\.output vpc "
                                          r"plat-ue1-dev id, a map, lowest first\)"):
        load_runtime(tmp_path, "{vpc_id: {primary: x}}")


def test_the_cli_reports_an_unmergeable_output_in_one_line(tmp_path):
    root = write_repo(tmp_path, {
        **folders("app", "vpc"),
        "stacks/deploy/dev.yaml": ctx(RUNTIME_BASE + """
        app:
          metadata: {inherits: [app-defaults]}
          vars: {subnets: {a: 1}}
"""),
    })
    done = subprocess.run([sys.executable, "-m", "stackflow", "describe", "stacks", "--repo", str(root)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "vars.subnets: Atmos merges" in done.stderr


# --- Atmos' MergeDeferredValues on resolved values ----------------------------------------------

def test_merge_deferred_values_follows_atmos():
    # a map first: maps merge until a value of another type, which wins whole (the rest unread)
    assert merge_deferred_values([{"a": 1}, {"b": 2}], "replace") == {"a": 1, "b": 2}
    assert merge_deferred_values([{"a": 1}, "s1", "s2"], "replace") == "s1"
    assert merge_deferred_values([{"a": {"x": 1, "l": [1]}}, {"a": {"l": [2]}}], "append") == {"a": {"x": 1, "l": [2]}}
    # a list first: the strategy; `append` skips what is not a list
    assert merge_deferred_values([[1], [2]], "replace") == [2]
    assert merge_deferred_values([[1], "x", [2]], "append") == [1, 2]
    assert merge_deferred_values([[{"a": 1}, 5], [{"b": 2}]], "merge") == [{"a": 1, "b": 2}, 5]
    assert merge_deferred_values([[1, 2], [3]], "merge") == [3, 2]  # an item that is not a map replaces
    # a scalar first: the highest
    assert merge_deferred_values(["a", {"b": 1}, "c"], "replace") == "c"
