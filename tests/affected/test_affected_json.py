"""The affected JSON both ways: Atmos' shape out, a CI file in (validated, mapped to the repo)."""

from __future__ import annotations

import json

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.affected_json import (
    DELETED_REASON,
    affected_to_json,
    dependents_to_json,
    parse_affected_json,
    refs_from_entries,
    stack_slug,
)
from stackflow.stacks_loader.model import InstanceRef
from stackflow.tasks.git import affected_between, select_change

from tests.loader.repos import load_repo

from .gitrepos import TF, two_commits
from .test_affected import DEV, FILES

ATMOS_FIELDS = {"component", "component_type", "component_path", "stack", "stack_slug", "affected",
                "affected_all", "dependents", "included_in_dependents", "settings"}


def test_stack_slug_replaces_slashes_like_atmos():
    assert stack_slug(InstanceRef("plat-ue1-dev", "infra/vpc")) == "plat-ue1-dev-infra-vpc"


def test_json_has_every_atmos_field_and_round_trips_to_the_same_selection(tmp_path):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF,
                                                  "stacks/deploy/prod.yaml": None})
    aset = affected_between(repo, "HEAD~1", "HEAD", include_dependents=True)
    items = affected_to_json(aset)
    assert all(ATMOS_FIELDS <= set(item) for item in items)
    assert [i["deleted"] for i in items if "deleted" in i] == [True, True, True]
    path = tmp_path / "affected.json"
    path.write_text(json.dumps(items))
    from_file = select_change(repo, {}, affected_file=str(path))
    from_git = select_change(repo, {}, base="HEAD~1", head="HEAD")
    assert set(from_file.graph.nodes) == set(from_git.graph.nodes)
    assert from_file.excluded == from_git.excluded
    assert set(from_file.excluded.values()) == {DELETED_REASON}


STACKSET_FILES = {k: v for k, v in FILES.items() if k.startswith("stacks/")}
GOOD = {"component": "vpc", "component_type": "terraform", "stack": DEV, "stack_slug": f"{DEV}-vpc",
        "affected": "component", "affected_all": ["component"], "dependents": [],
        "included_in_dependents": False, "settings": {}}


def _bad(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_affected_json(text, "ci/affected.json")
    message = str(info.value)
    assert message.startswith("ci/affected.json") and "\n" not in message
    return message


def _with(**fields) -> str:
    item = dict(GOOD)
    for key, value in fields.items():
        if value is ...:
            item.pop(key)
        else:
            item[key] = value
    return json.dumps([GOOD, item])


def test_bad_json_syntax_names_line_and_column():
    assert "line 1 column" in _bad("[{")


def test_not_a_list():
    assert "expected a JSON list" in _bad('{"component": "vpc"}')


def test_entry_not_an_object():
    assert "entry [1]: expected an object, got str" in _bad(json.dumps([GOOD, "vpc"]))


def test_missing_component():
    assert "entry [1]: missing field 'component'" in _bad(_with(component=...))


def test_missing_stack():
    assert "entry [1]: missing field 'stack'" in _bad(_with(stack=...))


def test_component_not_a_string():
    assert "entry [1]: field 'component' must be a non-empty string" in _bad(_with(component=3))


def test_empty_stack():
    assert "field 'stack' must be a non-empty string" in _bad(_with(stack=" "))


def test_unsupported_component_type():
    assert "component_type 'helmfile' is not supported" in _bad(_with(component_type="helmfile"))


def test_stack_slug_that_does_not_match():
    assert "stack_slug 'x-vpc' does not match" in _bad(_with(stack_slug="x-vpc"))


def test_affected_reason_missing():
    assert f"entry [1] ({DEV}/vpc): field 'affected' must be a non-empty string" in _bad(_with(affected=...))


def test_affected_all_not_a_list_of_strings():
    assert "field 'affected_all' must be a list of strings" in _bad(_with(affected_all="component"))


def test_deleted_not_a_bool():
    assert "field 'deleted' must be true or false" in _bad(_with(deleted="yes"))


def test_dependents_not_a_list():
    assert "field 'dependents' must be a list" in _bad(_with(dependents={}))


def test_nested_dependent_is_named_by_its_path():
    bad = _with(dependents=[{"component": "subnets", "stack": DEV, "dependents": [{"stack": DEV}]}])
    assert "entry [1].dependents[0].dependents[0]: missing field 'component'" in _bad(bad)


def test_entry_for_an_instance_the_repo_does_not_have(tmp_path):
    stackset = load_repo(tmp_path, STACKSET_FILES)
    entries = parse_affected_json(_with(stack="plat-ue1-qa", stack_slug="plat-ue1-qa-vpc"), "f.json")
    with pytest.raises(ConfigError, match=r"f.json: entry \[1\] \(plat-ue1-qa/vpc\): .*no stack 'plat-ue1-qa'"):
        refs_from_entries(entries, stackset, "f.json")


def test_entry_marked_deleted_but_still_in_the_repo(tmp_path):
    stackset = load_repo(tmp_path, STACKSET_FILES)
    entries = parse_affected_json(_with(deleted=True), "f.json")
    with pytest.raises(ConfigError, match=r"entry \[1\] .*marked deleted, but the repo still has"):
        refs_from_entries(entries, stackset, "f.json")


def test_entries_map_to_instances_with_nested_dependents(tmp_path):
    stackset = load_repo(tmp_path, STACKSET_FILES)
    text = json.dumps([dict(GOOD, dependents=[{"component": "subnets", "stack": DEV, "dependents": [
        {"component": "app", "stack": DEV, "dependents": []}]}])])
    run, deleted = refs_from_entries(parse_affected_json(text, "f"), stackset, "f")
    assert run == {InstanceRef(DEV, c) for c in ("vpc", "subnets", "app")} and deleted == {}
    run, _ = refs_from_entries(parse_affected_json(text, "f"), stackset, "f", include_dependents=False)
    assert run == {InstanceRef(DEV, "vpc")}


def test_unreadable_affected_file_is_one_line(tmp_path):
    from stackflow.stacks_loader.affected_json import read_affected_file

    with pytest.raises(ConfigError, match="missing.json: cannot read the affected file"):
        read_affected_file(str(tmp_path / "missing.json"))


def test_atmos_output_with_extra_fields_is_accepted():
    atmos = dict(GOOD, spacelift_stack="x", atlantis_project="y", namespace="acme", tenant="plat")
    assert parse_affected_json(json.dumps([atmos]), "f")[0].ref == InstanceRef(DEV, "vpc")


LEGACY_DEPENDENTS = {
    "stacks/catalog/net.yaml": """
        components:
          terraform:
            vpc: {}
            hub: {}
            attachment:
              settings:
                depends_on:
                  1: {component: vpc}
                  2: {component: hub, stack: plat-ue1-network}
    """,
    "stacks/deploy/network.yaml": "import: [catalog/net]\nvars: {tenant: plat, environment: ue1, stage: network}\n",
    "stacks/deploy/prod.yaml": """
        import: [catalog/net]
        vars: {tenant: plat, environment: ue1, stage: prod}
        components:
          terraform:
            vpc:
              settings:
                depends_on:
                  1: {component: vpc, stack: plat-ue1-network}
    """,
}


def test_describe_dependents_lists_a_legacy_entry_naming_its_stack_only_in_the_same_context(tmp_path):
    # Atmos' matchLegacyContextFields: fields the entry leaves out must equal between the
    # dependent and the target, so prod's attachment is no listed dependent of the network hub
    stackset = load_repo(tmp_path, LEGACY_DEPENDENTS)
    listed = [(d["stack"], d["component"]) for d in dependents_to_json(stackset, "hub", "plat-ue1-network")]
    assert listed == [("plat-ue1-network", "attachment")]
    # the deploy order keeps the edge: prod's attachment still runs after the network hub
    graph = stackset.graph()
    assert InstanceRef("plat-ue1-prod", "attachment") in graph.children(InstanceRef("plat-ue1-network", "hub"))


def test_describe_dependents_never_lists_a_component_of_the_same_name(tmp_path):
    # Atmos skips a dependent whose component name is the target's (its self-reference check)
    stackset = load_repo(tmp_path, LEGACY_DEPENDENTS)
    listed = [(d["stack"], d["component"]) for d in dependents_to_json(stackset, "vpc", "plat-ue1-network")]
    assert listed == [("plat-ue1-network", "attachment")]
    assert InstanceRef("plat-ue1-prod", "vpc") in stackset.graph().children(InstanceRef("plat-ue1-network", "vpc"))
