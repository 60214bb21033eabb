"""Section precedence, inheritance, abstract/disabled/locked components and overrides."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.source import FolderTree

from .repos import ctx, load_repo, write_repo

DEV = "plat-ue1-dev"


def ref(component: str, stack: str = DEV) -> InstanceRef:
    return InstanceRef(stack, component)


def test_vars_merge_global_then_terraform_then_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            vars: {a: global, b: global, c: global, tags: {x: 1, y: 1}}
            terraform:
              vars: {b: terraform, c: terraform, tags: {y: 2}}
            components:
              terraform:
                vpc:
                  vars: {c: component, tags: {z: 3}}
        """),
    })
    vars_ = stacks.instances[ref("vpc")].vars
    assert vars_["a"] == "global" and vars_["b"] == "terraform" and vars_["c"] == "component"
    assert vars_["tags"] == {"x": 1, "y": 2, "z": 3}


def test_settings_env_and_providers_follow_the_same_precedence(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            settings: {level: global}
            env: {LEVEL: global, KEEP: "1"}
            terraform:
              settings: {level: terraform}
              env: {LEVEL: terraform}
              providers: {aws: {region: us-east-1, profile: p}}
            components:
              terraform:
                vpc:
                  env: {LEVEL: component}
                  providers: {aws: {region: eu-west-1}}
        """),
    })
    inst = stacks.instances[ref("vpc")]
    assert inst.settings == {"level": "terraform"}
    assert inst.env == {"LEVEL": "component", "KEEP": "1"}
    assert inst.providers == {"aws": {"region": "eu-west-1", "profile": "p"}}


def test_imported_values_are_overridden_by_the_importing_manifest(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/vpc.yaml": """
            components:
              terraform:
                vpc:
                  vars: {cidr: 10.0.0.0/16, nat: true}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/vpc]
            components:
              terraform:
                vpc:
                  vars: {nat: false}
        """),
    })
    assert stacks.instances[ref("vpc")].vars["cidr"] == "10.0.0.0/16"
    assert stacks.instances[ref("vpc")].vars["nat"] is False


def test_metadata_inherits_applies_bases_in_order_then_own_values(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                base-a:
                  metadata: {type: abstract}
                  vars: {a: from-a, shared: from-a, list: [a]}
                base-b:
                  metadata: {type: abstract}
                  vars: {b: from-b, shared: from-b}
                app:
                  metadata:
                    component: app
                    inherits: [base-a, base-b]
                  vars: {own: yes-own}
        """),
    })
    inst = stacks.instances[ref("app")]
    assert inst.vars["a"] == "from-a" and inst.vars["b"] == "from-b"
    assert inst.vars["shared"] == "from-b"  # later base wins
    assert inst.vars["own"] == "yes-own"
    assert inst.inheritance == ["base-b", "base-a"]


def test_metadata_inherits_is_transitive_and_each_base_follows_its_own_bases(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                root:
                  metadata: {type: abstract}
                  vars: {level: root, root_only: r}
                middle:
                  metadata: {type: abstract, inherits: [root]}
                  vars: {level: middle}
                leaf:
                  metadata: {inherits: [middle]}
        """),
    })
    inst = stacks.instances[ref("leaf")]
    assert inst.vars["level"] == "middle" and inst.vars["root_only"] == "r"
    assert inst.inheritance == ["middle", "root"]


def test_component_values_override_inherited_values(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            vars: {x: global}
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                  vars: {x: base}
                  settings: {owner: base-team}
                child:
                  metadata: {inherits: [base]}
                  vars: {x: child}
        """),
    })
    inst = stacks.instances[ref("child")]
    assert inst.vars["x"] == "child"  # global < base < component
    assert inst.settings["owner"] == "base-team"


def test_base_metadata_is_inherited_except_type_and_inherits(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc/defaults:
                  metadata: {type: abstract, component: vpc, name: vpc, locked: true}
                vpc/primary:
                  metadata: {inherits: [vpc/defaults]}
        """),
    })
    inst = stacks.instances[ref("vpc/primary")]
    assert inst.metadata.get("type") is None and "inherits" in inst.metadata
    assert inst.component_path == "components/terraform/vpc"
    assert inst.locked and inst.deployable


def test_abstract_components_are_loaded_but_not_deployable(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                real: {}
        """),
    })
    assert ref("base") in stacks.instances and stacks.instances[ref("base")].abstract
    assert set(stacks.deployable()) == {ref("real")}


def test_disabled_components_are_loaded_but_not_deployable(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                off:
                  metadata: {enabled: false}
                on: {}
        """),
    })
    assert not stacks.instances[ref("off")].enabled
    assert set(stacks.deployable()) == {ref("on")}


def test_stack_level_metadata_enabled_applies_to_every_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            metadata: {enabled: false}
            components:
              terraform:
                a: {}
                b:
                  metadata: {enabled: true}
        """),
    })
    assert set(stacks.deployable()) == {ref("b")}


def test_metadata_locked_is_reported(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc:
                  metadata: {locked: true}
        """),
    })
    assert stacks.instances[ref("vpc")].locked


def test_metadata_component_sets_the_folder_and_keeps_the_instance_name(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc-blue:
                  metadata: {component: network/vpc}
        """),
    })
    inst = stacks.instances[ref("vpc-blue")]
    assert inst.component == "vpc-blue"
    assert inst.component_path == "components/terraform/network/vpc"


def test_legacy_top_level_component_attribute_points_at_the_folder_and_inherits(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc:
                  vars: {cidr: 10.0.0.0/16}
                vpc-2:
                  component: vpc
                  vars: {name: second}
        """),
    })
    inst = stacks.instances[ref("vpc-2")]
    assert inst.component_path == "components/terraform/vpc"
    assert inst.vars == {"tenant": "plat", "environment": "ue1", "stage": "dev",
                         "cidr": "10.0.0.0/16", "name": "second"}


def test_terraform_level_backend_command_and_remote_state_reach_components(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              command: tofu
              backend_type: s3
              backend: {s3: {bucket: state, region: us-east-1}}
              remote_state_backend: {s3: {role_arn: reader}}
            components:
              terraform:
                vpc: {}
        """),
    })
    inst = stacks.instances[ref("vpc")]
    assert inst.command == "tofu"
    assert inst.backend_type == "s3" and inst.backend["bucket"] == "state"
    assert inst.remote_state_backend_type == "s3"
    assert inst.remote_state_backend["role_arn"] == "reader" and inst.remote_state_backend["bucket"] == "state"


def test_overrides_reach_later_imports_and_the_importing_file_as_atmos_code_does(tmp_path):
    # Atmos' code (not its overrides docs page): an import's overrides also apply to the imports
    # listed after it and to the importing manifest's own components, never to earlier imports.
    stacks = load_repo(tmp_path, {
        "stacks/teams/testing.yaml": """
            import: [catalog/test-app]
            overrides:
              vars: {team: testing}
            terraform:
              overrides:
                command: tofu
        """,
        "stacks/catalog/test-app.yaml": """
            components:
              terraform:
                test-app:
                  vars: {team: nobody}
        """,
        "stacks/teams/devops.yaml": """
            components:
              terraform:
                devops-app:
                  vars: {team: nobody}
        """,
        "stacks/catalog/later.yaml": """
            components:
              terraform:
                later-app:
                  vars: {team: nobody}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [teams/devops, teams/testing, catalog/later]
            components:
              terraform:
                inline-app:
                  vars: {team: nobody}
        """),
        "stacks/deploy/prod.yaml": ctx("""
            import: [catalog/later]
            components:
              terraform:
                inline-app:
                  vars: {team: nobody}
        """, stage="prod"),
    })
    test_app = stacks.instances[ref("test-app")]
    assert test_app.vars["team"] == "testing" and test_app.command == "tofu"
    assert stacks.instances[ref("devops-app")].vars["team"] == "nobody"
    assert stacks.instances[ref("devops-app")].command == "terraform"
    for later in ("later-app", "inline-app"):
        assert stacks.instances[ref(later)].vars["team"] == "testing"
        assert stacks.instances[ref(later)].command == "tofu"
    prod = "plat-ue1-prod"
    assert stacks.instances[InstanceRef(prod, "later-app")].vars["team"] == "nobody"
    assert stacks.instances[InstanceRef(prod, "inline-app")].command == "terraform"


def test_overrides_win_over_component_values_and_importing_file_overrides_win(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            overrides:
              vars: {level: inner, inner_only: yes}
            components:
              terraform:
                app:
                  vars: {level: component}
        """,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/app]
            terraform:
              overrides:
                vars: {level: outer}
            components:
              terraform:
                app:
                  vars: {level: stack}
        """),
    })
    vars_ = stacks.instances[ref("app")].vars
    assert vars_["level"] == "outer" and vars_["inner_only"] == "yes"


def test_list_merge_strategy_replace_is_the_default(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/a.yaml": "vars: {zones: [a, b]}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/a]
            vars: {zones: [c]}
            components: {terraform: {vpc: {}}}
        """),
    })
    assert stacks.instances[ref("vpc")].vars["zones"] == ["c"]


def test_list_merge_strategy_append_concatenates_lists(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": _atmos("append"),
        "stacks/catalog/a.yaml": "vars: {zones: [a, b]}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/a]
            vars: {zones: [c]}
            components: {terraform: {vpc: {vars: {zones: [d]}}}}
        """),
    })
    assert stacks.instances[ref("vpc")].vars["zones"] == ["a", "b", "c", "d"]


def test_list_merge_strategy_merge_merges_maps_by_index(tmp_path):
    stacks = load_repo(tmp_path, {
        "atmos.yaml": _atmos("merge"),
        "stacks/catalog/a.yaml": "vars: {groups: [{name: a, size: 1}, {name: b}], plain: [x, y]}\n",
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/a]
            vars: {groups: [{size: 5}], plain: [z, w, v]}
            components: {terraform: {vpc: {}}}
        """),
    })
    vars_ = stacks.instances[ref("vpc")].vars
    assert vars_["groups"] == [{"name": "a", "size": 5}, {"name": "b"}]
    assert vars_["plain"] == ["x", "y", "v"]  # scalars keep the earlier element, the tail extends


def test_component_settings_list_merge_strategy_applies_to_that_component(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            vars: {zones: [a]}
            components:
              terraform:
                appended:
                  settings: {list_merge_strategy: append}
                  vars: {zones: [b]}
                replaced:
                  vars: {zones: [b]}
        """),
    })
    assert stacks.instances[ref("appended")].vars["zones"] == ["a", "b"]
    assert stacks.instances[ref("replaced")].vars["zones"] == ["b"]


def test_null_in_a_later_layer_replaces_the_value(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            vars: {tags: {a: 1}}
            components: {terraform: {vpc: {vars: {tags: null}}}}
        """),
    })
    assert stacks.instances[ref("vpc")].vars["tags"] is None


def test_instances_do_not_share_top_level_sections(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/catalog/vpc.yaml": "components: {terraform: {vpc: {vars: {a: 1}}}}\n",
        "stacks/deploy/dev.yaml": ctx("import: [catalog/vpc]\n"),
        "stacks/deploy/prod.yaml": ctx("import: [catalog/vpc]\n", stage="prod"),
    })
    dev, prod = stacks.instances[ref("vpc")], stacks.instances[ref("vpc", "plat-ue1-prod")]
    dev.vars["a"] = 2
    assert prod.vars["a"] == 1


def test_stacks_setting_a_catalog_components_vars_each_get_their_own(tmp_path):
    # each stack's section of `vpc` differs from the catalog's in its vars only: the rest of the
    # resolution is shared between them, the vars must not be
    catalog = """
        components:
          terraform:
            vpc/base:
              metadata: {type: abstract}
              vars: {cidr: 10.0.0.0/16, tags: {team: net, tier: base}}
              settings: {owner: net}
            vpc:
              metadata: {component: vpc, inherits: [vpc/base]}
              vars: {name: vpc}
              overrides: {}
    """
    stacks = load_repo(tmp_path, {
        "stacks/catalog/vpc.yaml": catalog,
        "stacks/deploy/dev.yaml": ctx("""
            import: [catalog/vpc]
            components: {terraform: {vpc: {vars: {tags: {tier: dev}}}}}
        """),
        "stacks/deploy/prod.yaml": ctx("""
            import: [catalog/vpc]
            components: {terraform: {vpc: {vars: {cidr: 10.9.0.0/16}}}}
            overrides: {vars: {tags: {on_call: "24/7"}}}
        """, stage="prod"),
        "stacks/deploy/staging.yaml": ctx("import: [catalog/vpc]\n", stage="staging"),
        "stacks/deploy/test.yaml": ctx("""
            import: [catalog/vpc]
            components: {terraform: {vpc: {vars: {name: t}, settings: {owner: qa}}}}
        """, stage="test"),
    })
    by_stage = {stage: stacks.instances[ref("vpc", f"plat-ue1-{stage}")] for stage in ("dev", "prod", "staging", "test")}
    assert by_stage["dev"].vars["tags"] == {"team": "net", "tier": "dev"}
    assert by_stage["dev"].vars["cidr"] == "10.0.0.0/16"
    assert by_stage["prod"].vars["cidr"] == "10.9.0.0/16"
    assert by_stage["prod"].vars["tags"] == {"team": "net", "tier": "base", "on_call": "24/7"}
    staging = by_stage["staging"].vars
    assert (staging["cidr"], staging["name"], staging["tags"]) == ("10.0.0.0/16", "vpc", {"team": "net", "tier": "base"})
    assert by_stage["test"].vars["name"] == "t"
    assert [by_stage[s].settings["owner"] for s in ("dev", "prod", "staging", "test")] == ["net", "net", "net", "qa"]
    assert all(inst.inheritance == ["vpc/base"] and inst.component_path == "components/terraform/vpc"
               for inst in by_stage.values())


def _atmos(strategy: str) -> str:
    from .repos import ATMOS_YAML

    return ATMOS_YAML + f"settings:\n  list_merge_strategy: {strategy}\n"


def test_a_missing_component_folder_is_a_warning_for_deployable_instances_only(tmp_path):
    stacks = load_repo(tmp_path, {
        "components/terraform/vpc/main.tf": "",
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                dns: {}
                base: {metadata: {type: abstract}}
        """),
    })
    assert stacks.warnings == ["component folder components/terraform/dns does not exist"]


def test_backend_type_and_command_come_from_the_last_base_only(tmp_path):
    # Atmos assigns backend_type, remote_state_backend_type and command at each base level, set
    # or not: a later base without them wipes an earlier base's, and the stack's values apply
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            terraform:
              backend_type: s3
              backend: {s3: {bucket: state}, gcs: {bucket: g}}
            components:
              terraform:
                a:
                  metadata: {type: abstract}
                  backend_type: gcs
                  remote_state_backend_type: gcs
                  command: tofu
                b:
                  metadata: {type: abstract, inherits: [a]}
                c:
                  metadata: {type: abstract}
                deep:
                  metadata: {inherits: [b]}
                listed:
                  metadata: {inherits: [a, c]}
                last:
                  metadata: {inherits: [c, a]}
        """),
    })
    for name in ("deep", "listed"):
        inst = stacks.instances[ref(name)]
        assert (inst.backend_type, inst.remote_state_backend_type, inst.command) == ("s3", "s3", "terraform")
    last = stacks.instances[ref("last")]
    assert (last.backend_type, last.remote_state_backend_type, last.command) == ("gcs", "gcs", "tofu")


def test_a_component_inheriting_itself_is_skipped_with_a_warning(tmp_path):
    # Atmos ignores it silently (processBaseComponentConfigInternal returns when base == component)
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                  vars: {from_base: 1}
                vpc:
                  metadata: {inherits: [vpc, base]}
        """),
    })
    inst = stacks.instances[ref("vpc")]
    assert inst.inheritance == ["base"] and inst.vars["from_base"] == 1
    assert [w for w in stacks.warnings if "inherits from itself" in w] == [
        "stacks/deploy/dev.yaml: component 'vpc' inherits from itself: ignored"
    ]


def test_a_stack_split_over_several_manifests_keeps_each_manifests_scope(tmp_path):
    # Atmos' parent-scoped multi-file stacks: one logical stack, each component resolved in the
    # manifest that defines it, nothing merged between the peers
    stacks = load_repo(tmp_path, {
        "stacks/catalog/context.yaml": "vars: {tenant: plat, environment: ue1, stage: dev}\n",
        "stacks/deploy/01-network.yaml": """
            import: [catalog/context]
            vars: {team: network}
            components: {terraform: {dns: {vars: {name: dns}}}}
        """,
        "stacks/deploy/02-platform.yaml": """
            import: [catalog/context]
            vars: {team: platform}
            components: {terraform: {chatops: {vars: {name: chatops}}}}
        """,
    })
    assert sorted(map(str, stacks.instances)) == [f"{DEV}/chatops", f"{DEV}/dns"]
    assert stacks.instances[ref("dns")].vars["team"] == "network"
    assert stacks.instances[ref("chatops")].vars["team"] == "platform"


def test_a_component_two_manifests_of_a_stack_import_alike_is_owned_by_the_first(tmp_path):
    catalog = """
        vars: {tenant: plat, environment: ue1, stage: dev}
        components: {terraform: {shared: {vars: {from: catalog}}}}
    """
    files = {
        "stacks/catalog/shared.yaml": catalog,
        "stacks/deploy/01-network.yaml": "import: [catalog/shared]\ncomponents: {terraform: {dns: {}}}\n",
        "stacks/deploy/02-platform.yaml": "import: [catalog/shared]\ncomponents: {terraform: {chatops: {}}}\n",
    }
    stacks = load_repo(tmp_path, files)
    assert sorted(map(str, stacks.instances)) == [f"{DEV}/chatops", f"{DEV}/dns", f"{DEV}/shared"]
    assert stacks.instances[ref("shared")].stack_file == "deploy/01-network.yaml"


AMBIGUOUS = {
    "components/terraform/shared/main.tf": 'variable "x" {}\n',
    "stacks/catalog/shared.yaml": """
        vars: {tenant: plat, environment: ue1, stage: dev}
        components: {terraform: {shared: {vars: {from: catalog}}}}
    """,
    "stacks/deploy/01-network.yaml": "import: [catalog/shared]\ncomponents: {terraform: {dns: {}}}\n",
    # a global of this manifest reaches its copy of the catalog component: the two differ
    "stacks/deploy/02-platform.yaml": "vars: {team: platform}\nimport: [catalog/shared]\n"
                                      "components: {terraform: {chatops: {}}}\n",
}
AMBIGUITY = (r"stack 'plat-ue1-dev' component 'shared' is defined differently by two manifests of the stack: "
             r"stacks/deploy/01-network.yaml and stacks/deploy/02-platform.yaml")


def test_an_instance_two_manifests_resolve_differently_is_refused_where_needed(tmp_path):
    # As Atmos: its describe stacks keeps one of them (whichever its map walk meets last) and its
    # describe component refuses; stackflow loads, warns, shows the first, and refuses what needs it
    from stackflow.stacks_loader.describe import describe_component
    from stackflow.stacks_loader.selection import select_target

    stacks = load_repo(tmp_path, AMBIGUOUS)
    assert stacks.instances[ref("shared")].vars == {"tenant": "plat", "environment": "ue1", "stage": "dev",
                                                    "from": "catalog"}
    assert [w for w in stacks.warnings if "defined differently" in w] == [
        AMBIGUITY + ": describe shows the first; deploying it and describe component are refused"]
    assert len(stacks.graph()) == 3
    with pytest.raises(ConfigError, match="^" + AMBIGUITY + r", so describe component is refused"):
        describe_component(stacks, "shared", DEV)
    with pytest.raises(ConfigError, match="^" + AMBIGUITY + r", so this run is refused"):
        select_target(tmp_path, {}, [DEV])
    assert [r.component for r in select_target(tmp_path, {}, [f"{DEV}/dns", f"{DEV}/chatops"]).graph.nodes] == [
        "chatops", "dns"]


def test_describe_affected_compares_each_manifests_version_and_scoped_agrees(tmp_path):
    from stackflow.stacks_loader.affected import affected_between_trees
    from stackflow.stacks_loader.affected_scope import affected_scoped

    def both(head_files: dict[str, str], changed: str) -> list[str]:
        head = write_repo(tmp_path / str(len(list(tmp_path.iterdir()))), head_files)
        full = affected_between_trees(FolderTree(base), FolderTree(head), [changed])
        scoped = affected_scoped(FolderTree(base), FolderTree(head), [changed])
        assert [(str(r), f.reasons) for r, f in sorted(full.affected.items())] == [
            (str(r), f.reasons) for r, f in sorted(scoped.affected.items())]
        return [str(r) for r in sorted(full.affected)]

    base = write_repo(tmp_path / "base", AMBIGUOUS)
    network, platform = "stacks/deploy/01-network.yaml", "stacks/deploy/02-platform.yaml"
    # the change leaves both versions of the ambiguous instance as they were
    assert both({**AMBIGUOUS, network: "import: [catalog/shared]\ncomponents: {terraform: {dns: {vars: {x: 1}}}}\n"},
                network) == [f"{DEV}/dns"]
    # it changes one manifest's version: affected (and a run selecting it is refused)
    assert both({**AMBIGUOUS, platform: "vars: {team: data}\nimport: [catalog/shared]\n"
                                        "components: {terraform: {chatops: {}}}\n"}, platform) == [
        f"{DEV}/chatops", f"{DEV}/shared"]
    # it settles the ambiguity (the global moves into one component): that manifest's version changed
    assert both({**AMBIGUOUS, platform: "import: [catalog/shared]\ncomponents: {terraform: {chatops: "
                                        "{vars: {team: platform}}}}\n"}, platform) == [f"{DEV}/shared"]
