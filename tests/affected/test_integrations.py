"""`spacelift_stack` and `atlantis_project` in the affected and dependents JSON, named as Atmos
names them (`spacelift_utils.go`, `atlantis_utils.go`)."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.affected_json import affected_to_json, dependents_to_json
from stackflow.tasks.git import affected_between
from tests.loader.repos import ATMOS_YAML, load_repo

from .gitrepos import TF, two_commits
from .test_affected import DEV, FILES

SPACELIFT = "settings:\n  spacelift: {workspace_enabled: true}\n"


def _items(tmp_path, files, change, *, atmos=ATMOS_YAML, dependents=False):
    repo = two_commits(tmp_path / "repo", files, change, atmos=atmos)
    return {i["stack_slug"]: i for i in affected_to_json(affected_between(repo, "HEAD~1", "HEAD",
                                                                          include_dependents=dependents))}


def _with_dev(extra: str) -> dict:
    return {**FILES, "stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"] + extra}


def test_spacelift_stack_is_the_stack_prefix_and_component_when_the_workspace_is_enabled(tmp_path):
    items = _items(tmp_path, _with_dev(SPACELIFT), {"components/terraform/vpc/main.tf": TF}, dependents=True)
    assert items[f"{DEV}-vpc"]["spacelift_stack"] == f"{DEV}-vpc"
    assert "spacelift_stack" not in items["plat-ue1-prod-vpc"]  # not enabled there: omitted, as Atmos
    assert "atlantis_project" not in items[f"{DEV}-vpc"]
    # dependents carry it too
    assert items[f"{DEV}-vpc"]["dependents"][0]["spacelift_stack"] == f"{DEV}-subnets"


def test_spacelift_stack_name_pattern_and_stack_name_win_over_the_default(tmp_path):
    extra = ("components:\n  terraform:\n    vpc:\n      settings:\n        spacelift:\n"
             "          stack_name_pattern: '{tenant}-{stage}-{component}-x{base-component}'\n"
             "    subnets:\n      settings:\n        spacelift: {stack_name: network-subnets}\n")
    items = _items(tmp_path, _with_dev(SPACELIFT + extra),
                   {"components/terraform/vpc/main.tf": TF, "components/terraform/subnets/main.tf": TF + "#\n"})
    assert items[f"{DEV}-vpc"]["spacelift_stack"] == "plat-dev-vpc-x"  # {base-component}: empty, as Atmos
    assert items[f"{DEV}-subnets"]["spacelift_stack"] == "network-subnets"


def test_spacelift_prefix_comes_from_the_name_template_when_set(tmp_path):
    atmos = ATMOS_YAML.replace('  name_pattern: "{tenant}-{environment}-{stage}"\n',
                               '  name_template: "{{ .vars.tenant }}-{{ .vars.environment }}-{{ .vars.stage }}"\n')
    files = _with_dev(SPACELIFT + "components:\n  terraform:\n    infra/vpc:\n      metadata: {component: vpc}\n")
    items = _items(tmp_path, files, {"components/terraform/vpc/main.tf": TF}, atmos=atmos)
    assert items[f"{DEV}-infra-vpc"]["spacelift_stack"] == f"{DEV}-infra-vpc"


def test_a_spacelift_name_that_cannot_be_built_is_one_line(tmp_path):
    atmos = ATMOS_YAML.replace('  name_pattern: "{tenant}-{environment}-{stage}"\n', "")
    files = {
        "stacks/deploy/dev.yaml": "name: dev\n" + SPACELIFT + "components:\n  terraform:\n    vpc: {}\n",
        "components/terraform/vpc/main.tf": TF,
    }
    repo = two_commits(tmp_path / "repo", files, {"components/terraform/vpc/main.tf": TF + "#\n"}, atmos=atmos)
    with pytest.raises(ConfigError) as exc:
        affected_to_json(affected_between(repo, "HEAD~1", "HEAD"))
    assert str(exc.value) == ("stacks/deploy/dev.yaml: stack 'dev' component 'vpc': "
                              "settings.spacelift.workspace_enabled needs stacks.name_template or stacks.name_pattern in atmos.yaml to name the Spacelift "
                              "stack, as in Atmos")


def test_atlantis_project_from_an_inline_template_or_one_named_in_atmos_yaml(tmp_path):
    atmos = ATMOS_YAML + ("integrations:\n  atlantis:\n    project_templates:\n"
                          "      project-1: {name: '{tenant}-{environment}-{stage}-{component}', autoplan: {}}\n")
    extra = ("components:\n  terraform:\n    vpc:\n      settings:\n        atlantis:\n"
             "          project_template: {name: 'vpc-{stage}-{region}'}\n"
             "    subnets:\n      settings:\n        atlantis: {project_template_name: project-1}\n")
    files = _with_dev(extra)
    files["stacks/deploy/dev.yaml"] = files["stacks/deploy/dev.yaml"].replace("stage: dev}", "stage: dev, region: r1}")
    items = _items(tmp_path, files,
                   {"components/terraform/vpc/main.tf": TF, "components/terraform/subnets/main.tf": TF + "#\n"},
                   atmos=atmos)
    assert items[f"{DEV}-vpc"]["atlantis_project"] == "vpc-dev-r1"
    assert items[f"{DEV}-subnets"]["atlantis_project"] == f"{DEV}-subnets"


def test_describe_dependents_names_them_too(tmp_path):
    stacks = load_repo(tmp_path, {k: v for k, v in _with_dev(SPACELIFT).items() if k.startswith("stacks/")})
    tree = dependents_to_json(stacks, "vpc", DEV)
    assert [(n["stack_slug"], n.get("spacelift_stack")) for n in tree] == [(f"{DEV}-subnets", f"{DEV}-subnets")]
