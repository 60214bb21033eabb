"""Dependencies in both forms, and the validated graph over deployable instances."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError, CycleError
from stackflow.stacks_loader.model import InstanceRef

from .repos import ctx, load_repo

DEV, PROD = "plat-ue1-dev", "plat-ue1-prod"


def parents(stacks, component: str, stack: str = DEV) -> set[tuple[str, str, str]]:
    inst = stacks.instances[InstanceRef(stack, component)]
    return {(d.parent.stack, d.parent.component, d.via) for d in inst.dependencies}


def test_dependencies_components_by_name_legacy_component_and_templated_stack(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                dns: {}
                app:
                  dependencies:
                    components:
                      - name: vpc
                      - component: dns
                      - name: vpc
                        stack: "{{ .vars.tenant }}-{{ .vars.environment }}-prod"
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    assert parents(stacks, "app") == {
        (DEV, "vpc", "dependencies.components"),
        (DEV, "dns", "dependencies.components"),
        (PROD, "vpc", "dependencies.components"),
    }


def test_dependencies_files_and_folders_are_watched_paths(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                lambda:
                  dependencies:
                    files: [configs/app.json]
                    folders: [src/lambda/]
                    components:
                      - {kind: file, path: ./configs/extra.json}
        """),
    })
    inst = stacks.instances[InstanceRef(DEV, "lambda")]
    assert inst.depends_on_files == ["configs/app.json", "configs/extra.json"]
    assert inst.depends_on_folders == ["src/lambda"]
    assert inst.dependencies == []


def test_settings_depends_on_map_or_list_with_context_from_the_dependents_vars(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                app:
                  settings:
                    depends_on:
                      1: {component: vpc}
                      2: {component: vpc, stage: prod}
                lister:
                  settings:
                    depends_on:
                      - component: app
        """),
        "stacks/deploy/prod.yaml": ctx("components: {terraform: {vpc: {}}}\n", stage="prod"),
    })
    assert parents(stacks, "app") == {(DEV, "vpc", "settings.depends_on"), (PROD, "vpc", "settings.depends_on")}
    assert parents(stacks, "lister") == {(DEV, "app", "settings.depends_on")}


def test_settings_depends_on_file_and_folder_entries_are_watched_paths(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  settings:
                    depends_on:
                      1: {file: configs/app.json}
                      2: {folder: src/app}
        """),
    })
    inst = stacks.instances[InstanceRef(DEV, "app")]
    assert inst.depends_on_files == ["configs/app.json"] and inst.depends_on_folders == ["src/app"]


def test_legacy_depends_on_is_ignored_when_dependencies_components_is_set(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                old: {}
                app:
                  dependencies: {components: [{name: vpc}]}
                  settings: {depends_on: {1: {component: old}}}
        """),
    })
    assert parents(stacks, "app") == {(DEV, "vpc", "dependencies.components")}
    assert any("settings.depends_on is ignored" in w for w in stacks.warnings)


def test_graph_orders_parents_before_children_across_stacks(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                vpc: {}
                subnets:
                  vars: {vpc_id: !terraform.output vpc vpc_id}
                app:
                  settings: {depends_on: {1: {component: subnets}}}
                  dependencies: {files: [x.json]}
        """),
        "stacks/deploy/prod.yaml": ctx("""
            components:
              terraform:
                peering:
                  dependencies: {components: [{name: vpc, stack: plat-ue1-dev}]}
        """, stage="prod"),
    })
    graph = stacks.graph()
    order = [str(r) for r in graph.order()]
    assert order.index(f"{DEV}/vpc") < order.index(f"{DEV}/subnets") < order.index(f"{DEV}/app")
    assert graph.parents(InstanceRef(PROD, "peering")) == [InstanceRef(DEV, "vpc")]


def test_graph_drops_an_edge_to_a_disabled_instance_with_a_warning(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                old: {metadata: {enabled: false}}
                app: {settings: {depends_on: {1: {component: old}}}}
        """),
    })
    graph = stacks.graph()
    assert set(graph.nodes) == {InstanceRef(DEV, "app")}
    assert any("plat-ue1-dev/old" in w and "disabled" in w for w in stacks.warnings)


def test_graph_rejects_a_dependency_on_an_unknown_instance_naming_dependent_and_entry(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app: {dependencies: {components: [{name: vcp}]}}
        """),
    })
    with pytest.raises(ConfigError, match=r"stack 'plat-ue1-dev' component 'app': dependencies.components\[0\] "
                                          r"depends on plat-ue1-dev/vcp, but stack 'plat-ue1-dev' has no component 'vcp'"):
        stacks.graph()


def test_graph_rejects_a_dependency_on_an_abstract_instance(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                base: {metadata: {type: abstract}}
                app: {vars: {x: !terraform.output base id}}
        """),
    })
    with pytest.raises(ConfigError, match=r"component 'app': vars.x depends on plat-ue1-dev/base, which is abstract "
                                          r"\(metadata.type: abstract\); it is never deployed, so it has no outputs "
                                          r"\(only !terraform.state may read an abstract component"):
        stacks.graph()


def test_terraform_state_of_an_abstract_instance_is_a_read_of_state_deployed_elsewhere_not_an_edge(tmp_path):
    # Cloud Posse's examples model another repo's cluster as an abstract component with that repo's
    # backend, and read its state with !terraform.state: Atmos reads it, it is never deployed here
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                ecs/cluster:
                  metadata: {type: abstract, component: ecs, terraform_workspace: core-ecs}
                app:
                  vars:
                    cluster: !terraform.state ecs/cluster .cluster_arn
                    subnets: !terraform.state ecs/cluster .subnets[0]
        """),
    })
    graph = stacks.graph()
    app = InstanceRef(DEV, "app")
    assert set(graph.nodes) == {app}
    assert parents(stacks, "app") == {(DEV, "ecs/cluster", "terraform.output")}  # what the run reads first


@pytest.mark.parametrize("app, entry", [
    ("{vars: {a: !terraform.state base id, b: [!terraform.output base id]}}", r"vars.b\[0\]"),
    ("{vars: {a: !terraform.state base id}, settings: {depends_on: {1: {component: base}}}}",
     "settings.depends_on.1"),
])
def test_an_abstract_instance_read_by_state_is_still_refused_as_any_other_dependency(tmp_path, app, entry):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx(f"""
            components:
              terraform:
                base: {{metadata: {{type: abstract}}}}
                app: {app}
        """),
    })
    with pytest.raises(ConfigError, match=rf"component 'app': {entry} depends on plat-ue1-dev/base, which is abstract"):
        stacks.graph()


def test_graph_rejects_an_unmatched_legacy_context_dependency(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app: {settings: {depends_on: {db: {component: rds, stage: prod}}}}
        """),
    })
    with pytest.raises(ConfigError, match=r"settings.depends_on.db \{component: rds, stage: prod\} depends on "
                                          r"plat-ue1-prod/rds, but there is no stack 'plat-ue1-prod'"):
        stacks.graph()


def test_graph_reports_cycles(tmp_path):
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                a: {settings: {depends_on: {1: {component: b}}}}
                b: {vars: {x: !terraform.output a id}}
        """),
    })
    with pytest.raises(CycleError, match="plat-ue1-dev/a"):
        stacks.graph()
