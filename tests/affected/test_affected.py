"""affected_between on two-commit git repos: one test per Atmos reason, dependents, deletions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stackflow.errors import ConfigError, GitError
from stackflow.stacks_loader.affected_json import affected_to_json
from stackflow.stacks_loader.blast_radius import blast_radius_text
from stackflow.stacks_loader.model import InstanceRef
from stackflow.tasks.git import GitTree, affected_between, changed_files, select_change
from tests.loader.repos import ATMOS_YAML

from .gitrepos import TF, commit_all, git, two_commits

DEV, PROD = "plat-ue1-dev", "plat-ue1-prod"
CATALOG = """
    components:
      terraform:
        vpc:
          vars: {cidr: 10.0.0.0/16}
        subnets:
          settings:
            depends_on:
              1: {component: vpc}
          vars: {bits: 8}
        app:
          settings:
            depends_on:
              1: {component: subnets}
              2: {file: configs/app.json}
              3: {folder: src/app}
"""
FILES = {
    "stacks/catalog/base.yaml": CATALOG,
    "stacks/deploy/dev.yaml": "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev}\n",
    "stacks/deploy/prod.yaml": "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: prod}\n",
    "components/terraform/vpc/main.tf": 'module "tags" {\n  source = "../modules/tags"\n}\n',
    "components/terraform/subnets/main.tf": TF,
    "components/terraform/app/main.tf": TF,
    "components/terraform/modules/tags/main.tf": 'module "names" {\n  source = "../names"\n}\n',
    "components/terraform/modules/names/main.tf": TF,
    "configs/app.json": "{}\n",
    "src/app/handler.py": "print(1)\n",
}


def _affected(tmp_path: Path, change: dict, *, files: dict | None = None, dependents: bool = False):
    repo = two_commits(tmp_path / "repo", files or FILES, change)
    return affected_between(repo, "HEAD~1", "HEAD", include_dependents=dependents)


def _reasons(aset) -> dict[str, list[str]]:
    return {str(ref): list(found.reasons) for ref, found in aset.affected.items()}


def test_nothing_changed_nothing_affected(tmp_path):
    aset = _affected(tmp_path, {"README.md": "docs only\n"})
    assert aset.affected == {} and aset.deleted == {}


def test_vars_change_in_one_stack_is_stack_vars(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev, x: 1}\n"})
    assert set(_reasons(aset)) == {f"{DEV}/vpc", f"{DEV}/subnets", f"{DEV}/app"}
    assert all(r == ["stack.vars"] for r in _reasons(aset).values())


def test_catalog_vars_change_affects_every_stack_importing_it(tmp_path):
    aset = _affected(tmp_path, {"stacks/catalog/base.yaml": CATALOG.replace("10.0.0.0/16", "10.9.0.0/16")})
    assert _reasons(aset) == {f"{DEV}/vpc": ["stack.vars"], f"{PROD}/vpc": ["stack.vars"]}


def test_settings_change_is_stack_settings(tmp_path):
    changed = CATALOG.replace("        subnets:\n          settings:\n",
                              "        subnets:\n          settings:\n            team: net\n")
    aset = _affected(tmp_path, {"stacks/catalog/base.yaml": changed})
    assert _reasons(aset) == {f"{DEV}/subnets": ["stack.settings"], f"{PROD}/subnets": ["stack.settings"]}


def test_env_change_is_stack_env(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/prod.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: prod}\n"
                                "env: {TF_LOG: debug}\n"})
    assert set(_reasons(aset)) == {f"{PROD}/vpc", f"{PROD}/subnets", f"{PROD}/app"}
    assert _reasons(aset)[f"{PROD}/vpc"] == ["stack.env"]


def test_metadata_change_is_stack_metadata_and_comes_first(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev}\n"
                                "components:\n  terraform:\n    vpc:\n      metadata: {locked: true}\n"
                                "      vars: {cidr: 10.1.0.0/16}\n"})
    assert _reasons(aset) == {f"{DEV}/vpc": ["stack.metadata", "stack.vars"]}


def test_backend_change_is_stack_backend(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev}\n"
                                "terraform:\n  backend_type: s3\n  backend: {s3: {bucket: b}}\n"})
    reasons = _reasons(aset)[f"{DEV}/vpc"]
    assert "stack.backend" in reasons and "stack.backend_type" in reasons


def test_file_in_component_folder_is_component(tmp_path):
    aset = _affected(tmp_path, {"components/terraform/subnets/main.tf": TF + "# x\n"})
    assert _reasons(aset) == {f"{DEV}/subnets": ["component"], f"{PROD}/subnets": ["component"]}


def test_local_module_change_is_component_module_transitively(tmp_path):
    aset = _affected(tmp_path, {"components/terraform/modules/names/main.tf": TF + "# x\n"})
    assert _reasons(aset) == {f"{DEV}/vpc": ["component.module"], f"{PROD}/vpc": ["component.module"]}


def test_depends_on_file_change_is_file_and_names_it(tmp_path):
    aset = _affected(tmp_path, {"configs/app.json": '{"a": 1}\n'})
    assert _reasons(aset) == {f"{DEV}/app": ["file"], f"{PROD}/app": ["file"]}
    item = next(i for i in affected_to_json(aset) if i["stack"] == DEV)
    assert item["file"] == "configs/app.json" and item["affected"] == "file"


def test_depends_on_folder_change_is_folder(tmp_path):
    aset = _affected(tmp_path, {"src/app/new.py": "x = 1\n"})
    assert _reasons(aset) == {f"{DEV}/app": ["folder"], f"{PROD}/app": ["folder"]}
    assert next(i for i in affected_to_json(aset))["folder"] == "src/app"


DEPENDENCIES_FILES = {
    "stacks/deploy/dev.yaml": """
        vars: {tenant: plat, environment: ue1, stage: dev}
        components:
          terraform:
            app:
              dependencies:
                files: [cfg/a.json]
                components: [{kind: folder, path: "src/*/lambda"}]
            web:
              metadata: {component: app}
              dependencies:
                components: [{kind: file, path: "cfg/*.json"}]
    """,
    "components/terraform/app/main.tf": TF,
    "cfg/a.json": "{}\n",
    "src/one/lambda/handler.py": "print(1)\n",
}


def test_a_changed_dependencies_files_list_is_stack_dependencies(tmp_path):
    head = DEPENDENCIES_FILES["stacks/deploy/dev.yaml"].replace("files: [cfg/a.json]", "files: [cfg/b.json]")
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml": head}, files=DEPENDENCIES_FILES)
    assert _reasons(aset) == {f"{DEV}/app": ["stack.dependencies"]}


def test_file_and_folder_dependency_paths_are_globs(tmp_path):
    aset = _affected(tmp_path, {"cfg/c.json": "{}\n", "src/two/lambda/x.py": "x = 1\n"}, files=DEPENDENCIES_FILES)
    assert _reasons(aset) == {f"{DEV}/web": ["file"], f"{DEV}/app": ["folder"]}
    items = {i["component"]: i for i in affected_to_json(aset)}
    assert items["web"]["file"] == "cfg/*.json" and items["app"]["folder"] == "src/*/lambda"


def test_every_reason_is_listed_in_affected_all(tmp_path):
    aset = _affected(tmp_path, {
        "components/terraform/vpc/main.tf": 'module "tags" {\n  source = "../modules/tags"\n}\n# x\n',
        "components/terraform/modules/tags/main.tf": 'module "names" {\n  source = "../names"\n}\n# y\n',
        "stacks/catalog/base.yaml": CATALOG.replace("vars: {cidr: 10.0.0.0/16}",
                                                    "vars: {cidr: 10.2.0.0/16}\n          env: {A: b}"),
    })
    assert _reasons(aset)[f"{DEV}/vpc"] == ["component.module", "component", "stack.vars", "stack.env"]
    item = next(i for i in affected_to_json(aset) if i["stack_slug"] == f"{DEV}-vpc")
    assert item["affected"] == "component.module" and item["affected_all"][1:] == ["component", "stack.vars",
                                                                                   "stack.env"]


def test_new_instance_is_affected(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/stage.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: staging}\n"})
    assert set(_reasons(aset)) == {"plat-ue1-staging/vpc", "plat-ue1-staging/subnets", "plat-ue1-staging/app"}
    # as Atmos: metadata first (a missing remote never equals it), then every section it has, even
    # empty, in Atmos' order (`componentSectionChecks`); dependencies only when set
    assert _reasons(aset)["plat-ue1-staging/vpc"] == [
        "stack.metadata", "stack.vars", "stack.env", "stack.providers", "stack.required_providers",
        "stack.required_version", "stack.generate", "stack.backend", "stack.backend_type",
        "stack.remote_state_backend", "stack.remote_state_backend_type", "stack.auth", "stack.command",
        "stack.source", "stack.provision", "stack.settings"]


def test_dependents_are_included_and_marked_like_atmos(tmp_path):
    aset = _affected(tmp_path, {"components/terraform/vpc/main.tf": TF}, dependents=True)
    assert set(aset.affected) == {InstanceRef(DEV, "vpc"), InstanceRef(PROD, "vpc")}
    assert aset.dependents == {InstanceRef(s, c) for s in (DEV, PROD) for c in ("subnets", "app")}
    assert aset.selection() == set(aset.affected) | aset.dependents
    item = next(i for i in affected_to_json(aset) if i["stack"] == DEV)
    assert [d["stack_slug"] for d in item["dependents"]] == [f"{DEV}-subnets"]
    assert [d["stack_slug"] for d in item["dependents"][0]["dependents"]] == [f"{DEV}-app"]
    assert item["included_in_dependents"] is False


def test_affected_instance_that_is_a_dependent_of_another_is_included_in_dependents(tmp_path):
    aset = _affected(tmp_path, {"components/terraform/vpc/main.tf": TF,
                                "components/terraform/app/main.tf": TF + "# x\n"}, dependents=True)
    items = {i["stack_slug"]: i for i in affected_to_json(aset)}
    assert items[f"{DEV}-app"]["included_in_dependents"] is True
    assert items[f"{DEV}-vpc"]["included_in_dependents"] is False


def test_without_include_dependents_the_selection_is_only_the_affected(tmp_path):
    aset = _affected(tmp_path, {"components/terraform/vpc/main.tf": TF})
    assert aset.selection() == {InstanceRef(DEV, "vpc"), InstanceRef(PROD, "vpc")}
    assert all(i["dependents"] == [] for i in affected_to_json(aset))


def test_an_instance_made_abstract_in_head_is_not_deleted_as_in_atmos(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml":
                                "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev}\n"
                                "components:\n  terraform:\n    app:\n      metadata: {type: abstract}\n"})
    assert aset.deleted == {} and InstanceRef(DEV, "app") not in aset.affected


def test_a_disabled_instance_removed_in_head_is_deleted_as_in_atmos(tmp_path):
    files = dict(FILES)
    files["stacks/deploy/dev.yaml"] += "components:\n  terraform:\n    old:\n      metadata: {component: app, enabled: false}\n"
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"]}, files=files)
    assert set(aset.deleted) == {InstanceRef(DEV, "old")}
    item = affected_to_json(aset)[-1]
    assert item["deleted"] is True and item["affected"] == "deleted" and item["deletion_type"] == "component"


def test_removed_stack_is_deleted_stack(tmp_path):
    aset = _affected(tmp_path, {"stacks/deploy/prod.yaml": None})
    assert {str(r) for r in aset.deleted} == {f"{PROD}/vpc", f"{PROD}/subnets", f"{PROD}/app"}
    assert {f.reason for f in aset.deleted.values()} == {"deleted.stack"}
    assert aset.affected == {}


def test_deleted_instances_are_excluded_from_a_deploy_with_the_reason(tmp_path):
    repo = two_commits(tmp_path / "repo", FILES, {"stacks/deploy/prod.yaml": None,
                                                   "components/terraform/vpc/main.tf": TF})
    target = select_change(repo, {}, base="HEAD~1", head="HEAD")
    assert set(target.graph.nodes) == {InstanceRef(DEV, c) for c in ("vpc", "subnets", "app")}
    assert target.excluded[InstanceRef(PROD, "vpc")].startswith("deleted in head")


def test_unknown_ref_is_one_line_git_error_exit_2(tmp_path):
    repo = two_commits(tmp_path / "repo", FILES, {})
    with pytest.raises(GitError, match="unknown git ref 'nope'") as info:
        affected_between(repo, "nope", "HEAD")
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_cli_bad_ref_exits_2_with_one_line(tmp_path, capsys):
    from stackflow.cli import main

    repo = two_commits(tmp_path / "repo", FILES, {})
    assert main(["describe", "affected", "--repo", str(repo), "--base", "v9.9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stackflow: error:") and "v9.9" in err and "\n" not in err


def test_git_tree_reads_the_commit_not_the_worktree(tmp_path):
    repo = two_commits(tmp_path / "repo", FILES, {"configs/app.json": "{\"v\": 2}\n"})
    (repo / "configs/app.json").write_text("dirty worktree\n")
    status_before = git(repo, "status", "--porcelain")
    tree = GitTree(repo, "HEAD~1")
    assert tree.read_bytes("configs/app.json") == b"{}\n"
    assert tree.is_dir("components/terraform") and tree.is_file("src/app/handler.py")
    assert not tree.is_file("nope") and "stacks/deploy/dev.yaml" in list(tree.walk_files("stacks"))
    with pytest.raises(FileNotFoundError):
        tree.read_bytes("stacks")
    tree.close()
    assert git(repo, "status", "--porcelain") == status_before
    assert changed_files(repo, "HEAD~1", "HEAD") == ["configs/app.json"]


def test_blast_radius_text_orders_groups_and_names_approvals_and_deletions(tmp_path):
    files = dict(FILES)
    files["stacks/deploy/prod.yaml"] += "settings: {stackflow: {approval: {required: true}}}\n"
    repo = two_commits(tmp_path / "repo", files, {"components/terraform/vpc/main.tf": TF})
    aset = affected_between(repo, "HEAD~1", "HEAD", include_dependents=True)
    text = blast_radius_text(aset)
    assert "group 1 (in parallel):" in text and "group 3 (in parallel):" in text
    assert f"critical path (3): {DEV}/vpc → {DEV}/subnets → {DEV}/app" in text or \
        f"critical path (3): {PROD}/vpc → {PROD}/subnets → {PROD}/app" in text
    assert text.index(f"{DEV}/vpc") < text.index(f"{DEV}/subnets") < text.index(f"{DEV}/app")


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme"


def test_example_repo_vpc_change_affects_every_vpc_and_its_dependents(tmp_path):
    repo = tmp_path / "acme"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "base")
    with (repo / "components/terraform/vpc/main.tf").open("a") as handle:
        handle.write("# a change\n")
    commit_all(repo, "vpc")
    aset = affected_between(repo, "HEAD~1", "HEAD", include_dependents=True)
    vpcs = {ref for ref in aset.head.deployable() if ref.component == "vpc"}
    assert set(aset.affected) == vpcs and len(vpcs) == 4
    assert all(found.reasons == ("component",) for found in aset.affected.values())
    assert {ref.component for ref in aset.dependents} == {"subnets", "security-group"}
    assert {ref.stack for ref in aset.dependents} == {ref.stack for ref in vpcs}
    json.dumps(affected_to_json(aset))


def test_component_dropped_from_a_stack_is_deleted(tmp_path):
    files = dict(FILES)
    files["stacks/deploy/dev.yaml"] += "components:\n  terraform:\n    extra:\n      metadata: {component: app}\n"
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"]}, files=files)
    assert {str(r): f.reason for r, f in aset.deleted.items()} == {f"{DEV}/extra": "deleted"}


def test_select_refs_cuts_the_graph_and_reports_disabled_refs_as_excluded(tmp_path):
    from stackflow.stacks_loader.selection import select_refs

    from tests.loader.repos import load_repo

    files = {k: v for k, v in FILES.items() if k.startswith("stacks/")}
    files["stacks/deploy/dev.yaml"] += "components:\n  terraform:\n    app:\n      metadata: {enabled: false}\n"
    stackset = load_repo(tmp_path, files)
    target = select_refs(stackset, {InstanceRef(DEV, "vpc"), InstanceRef(DEV, "subnets"), InstanceRef(DEV, "app")},
                         excluded={InstanceRef(PROD, "old"): "deleted in head"})
    assert target.graph.order() == [InstanceRef(DEV, "vpc"), InstanceRef(DEV, "subnets")]
    assert target.excluded == {InstanceRef(DEV, "app"): "metadata.enabled is false",
                               InstanceRef(PROD, "old"): "deleted in head"}
    with pytest.raises(ConfigError, match="plat-ue1-dev/nope: no such instance"):
        select_refs(stackset, {InstanceRef(DEV, "nope")})


def test_stack_dependencies_compares_the_whole_dependencies_section(tmp_path):
    # Atmos compares the merged section, not the parents it resolves to: naming the same parent
    # with its stack spelled out is still a change of `stack.dependencies`
    files = {
        "stacks/deploy/dev.yaml": """
            vars: {tenant: plat, environment: ue1, stage: dev}
            components:
              terraform:
                vpc: {}
                app:
                  dependencies:
                    components: [{component: vpc}]
        """,
        "components/terraform/vpc/main.tf": TF,
        "components/terraform/app/main.tf": TF,
    }
    head = files["stacks/deploy/dev.yaml"].replace("{component: vpc}", "{component: vpc, stack: plat-ue1-dev}")
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml": head}, files=files)
    assert _reasons(aset) == {f"{DEV}/app": ["stack.dependencies"]}


@pytest.mark.parametrize(("section", "before", "after"), [
    ("required_providers", "{aws: {version: '~> 5.0'}}", "{aws: {version: '~> 6.0'}}"),
    ("required_version", "'>= 1.5.0'", "'>= 1.9.0'"),
    ("generate", "{a.txt: one}", "{a.txt: two}"),
    ("auth", "{identity: reader}", "{identity: admin}"),
    ("source", "github.com/acme/vpc?ref=v1", "github.com/acme/vpc?ref=v2"),
    ("provision", "{workdir: {enabled: false}}", "{workdir: {enabled: true}}"),
])
def test_a_change_in_a_reported_section_is_its_atmos_reason(tmp_path, section, before, after):
    files = {**FILES, "stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"]
             + f"components:\n  terraform:\n    vpc:\n      {section}: {before}\n"}
    changed = FILES["stacks/deploy/dev.yaml"] + f"components:\n  terraform:\n    vpc:\n      {section}: {after}\n"
    aset = _affected(tmp_path, {"stacks/deploy/dev.yaml": changed}, files=files)
    assert _reasons(aset) == {f"{DEV}/vpc": [f"stack.{section}"]}


def test_hooks_are_not_compared_unless_describe_affected_sections_names_them(tmp_path):
    dev = FILES["stacks/deploy/dev.yaml"]
    files = {**FILES, "stacks/deploy/dev.yaml": dev + "hooks: {cost: {command: infracost}}\n"}
    hooks_changed = dev + "hooks: {cost: {command: infracost, events: [after-plan]}}\n"
    # Atmos' defaults leave hooks out: operational behaviour, not infrastructure
    assert _affected(tmp_path / "defaults", {"stacks/deploy/dev.yaml": hooks_changed}, files=files).affected == {}
    atmos = ATMOS_YAML + "describe:\n  affected:\n    sections: [vars, hooks]\n"
    change = {"stacks/deploy/dev.yaml": hooks_changed + "env: {TF_LOG: debug}\n"}
    repo = two_commits(tmp_path / "listed", files, change, atmos=atmos)
    aset = affected_between(repo, "HEAD~1", "HEAD")
    # the list replaces Atmos' defaults: env is no longer compared, hooks are (as `stack.hooks`)
    assert _reasons(aset) == {f"{DEV}/{c}": ["stack.hooks"] for c in ("vpc", "subnets", "app")}


# An abstract component standing for state deployed elsewhere, read by !terraform.state in its
# own stack and from another one: no edge carries its change, so the readers are compared on it.
NETWORK = """
    components:
      terraform:
        network:
          metadata: {type: abstract, component: network, terraform_workspace: core-network}
          backend_type: s3
          backend: {s3: {bucket: core-state, key: terraform.tfstate}}
"""
STATE_READS = {
    **FILES,
    "stacks/catalog/network.yaml": NETWORK,
    "stacks/deploy/dev.yaml": "import: [catalog/base, catalog/network]\n"
                              "vars: {tenant: plat, environment: ue1, stage: dev}\n"
                              "components: {terraform: {app: {vars: {vpc_id: !terraform.state network .vpc_id}}}}\n",
    "stacks/deploy/prod.yaml": "import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: prod}\n"
                               "components: {terraform: {app: {vars: {vpc_id: !terraform.state network plat-ue1-dev .vpc_id}}}}\n",
}
STATE_READ_CHANGES = {
    "workspace": NETWORK.replace("core-network}", "core-network-2}"),
    "backend": NETWORK.replace("bucket: core-state", "bucket: core-state-2"),
    "not where the state is": NETWORK.replace("terraform_workspace: core-network}", "terraform_workspace: core-network}\n"
                                              "          vars: {note: unused}"),
}


@pytest.mark.parametrize("change", sorted(STATE_READ_CHANGES))
def test_readers_of_an_abstract_components_state_are_affected_when_it_names_other_state(tmp_path, change):
    aset = _affected(tmp_path, {"stacks/catalog/network.yaml": STATE_READ_CHANGES[change]}, files=STATE_READS,
                     dependents=True)
    if change == "not where the state is":
        assert _reasons(aset) == {}
    else:  # what they read changes, as a changed value would: Atmos, reading the state, sees their vars differ
        assert _reasons(aset) == {f"{DEV}/app": ["stack.vars"], f"{PROD}/app": ["stack.vars"]}
    assert aset.dependents == set()
