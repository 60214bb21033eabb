"""`--tags` / `--labels`: a run narrowed to instances by metadata, as Atmos' bulk selection."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.selection import select_target
from stackflow.stacks_loader.tag_selection import TagFilter, narrow_target, parse_tag_filter
from tests.loader.repos import ctx, write_repo

DEV = "plat-ue1-dev"


@pytest.fixture
def repo(tmp_path):
    return write_repo(tmp_path, {
        **{f"components/terraform/{n}/main.tf": 'variable "x" {}\n' for n in ("vpc", "app", "db")},
        "stacks/deploy/dev.yaml": ctx("""
            metadata:
              labels: {team: core}
            components:
              terraform:
                vpc:
                  metadata: {tags: [network, base], labels: {tier: "1"}}
                app:
                  metadata: {tags: [web], labels: {tier: "2", owner: ops}}
                  settings: {depends_on: {1: {component: vpc}}}
                db:
                  metadata: {tags: [data, 7]}
                  settings: {depends_on: {1: {component: vpc}}}
        """),
    })


def names(target) -> list[str]:
    return [ref.component for ref in target.graph.nodes]


def test_tags_match_any_labels_match_every_one(repo):
    target = select_target(repo, {}, [], all_instances=True)
    assert names(narrow_target(target, parse_tag_filter(["web,network"], []))) == ["app", "vpc"]
    assert names(narrow_target(target, parse_tag_filter([], ["team=core", "tier:2"]))) == ["app"]
    # stack-wide labels count; both filters must match
    assert names(narrow_target(target, parse_tag_filter(["data"], ["team=core"]))) == ["db"]
    assert names(narrow_target(target, parse_tag_filter(["base", "data"], ["tier=1"]))) == ["vpc"]


def test_the_filter_narrows_the_selection_and_keeps_the_edges_between_what_it_keeps(repo):
    target = select_target(repo, {}, [f"{DEV}/app", f"{DEV}/vpc"])
    narrowed = narrow_target(target, parse_tag_filter(["web", "network"], []))
    assert narrowed.graph.parents(InstanceRef(DEV, "app")) == [InstanceRef(DEV, "vpc")]
    only_app = narrow_target(target, parse_tag_filter(["web"], []))
    assert names(only_app) == ["app"] and only_app.graph.parents(InstanceRef(DEV, "app")) == []


def test_no_filter_is_the_target_itself_and_a_filter_matching_nothing_is_an_error(repo):
    target = select_target(repo, {}, [], all_instances=True)
    assert narrow_target(target, parse_tag_filter([], [])) is target
    with pytest.raises(ConfigError, match=r"^--tags nope --labels team=core: none of the 3 selected instance\(s\) "
                                          r"matches"):
        narrow_target(target, parse_tag_filter(["nope"], ["team=core"]))


@pytest.mark.parametrize("labels", [["tier"], ["=x"], ["a=1,broken"]])
def test_a_label_without_a_key_and_value_is_a_one_line_error(labels):
    with pytest.raises(ConfigError, match=r"--labels '[^']*': expected key=value or key:value"):
        parse_tag_filter([], labels)


def test_parsing_splits_commas_trims_and_keeps_the_first_separator():
    assert parse_tag_filter([" a, b", "a,,c"], ["k = v", "url=https://x"]) == TagFilter(
        ("a", "b", "c"), {"k": "v", "url": "https://x"})
