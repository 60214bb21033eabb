"""The manifest parser's own construction path builds what PyYAML's generic one builds."""

from __future__ import annotations

import pytest
import yaml

from stackflow.errors import ConfigError
from stackflow.stacks_loader.manifests import ManifestReader
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.source import FolderTree

from .repos import ctx, load_repo

DOCUMENT = """\
base: &base {size: 1, tags: {team: core}, list: [a, b]}
copy: *base
merged:
  <<: *base
  extra: [1, 2.5, -3, 0x10, 1_000, .inf, ~, null, true, False, ""]
explicit: [!!str 1, !!int "2", !!float "3", !!bool "true", !!null "", !!binary aGk=]
typed_maps:
  set: !!set {a, b}
  omap: !!omap [{x: 1}, {y: 2}]
  pairs: !!pairs [{x: 1}, {x: 2}]
nested: [[1, [2, {deep: [3]}]], {k: v}]
shared_list: &items [1, 2]
again: *items
quoted: ["1", 'true', "null"]
"""


def _parse(tmp_path, text: str):
    (tmp_path / "doc.yaml").write_text(text)
    return ManifestReader(FolderTree(tmp_path), {}).read("doc.yaml").data


def test_maps_lists_scalars_anchors_and_explicit_tags_build_as_in_pyyaml(tmp_path):
    data = _parse(tmp_path, DOCUMENT)
    assert data == yaml.load(DOCUMENT, Loader=yaml.CSafeLoader)
    assert data["copy"] is data["base"] and data["again"] is data["shared_list"]  # aliases share
    assert list(data["merged"]) == ["size", "tags", "list", "extra"]


MERGES = """\
user: &user {role: reader, ttl: 1h, tags: {team: core}}
admin: &admin
  <<: *user
  role: admin
ops:
  <<: [*admin, {role: ignored, shell: bash}]
  ttl: 8h
again:
  <<: *admin
"""


def test_own_keys_override_merged_keys_and_the_first_merged_map_wins_as_in_yaml_v3(tmp_path):
    # a key written next to `<<` is not a duplicate (cloudposse's aws-teams catalog does this)
    # (not compared with PyYAML's own: from 6.0.4, of several merged maps it takes the last)
    data = _parse(tmp_path, MERGES)
    assert data["user"] == {"role": "reader", "ttl": "1h", "tags": {"team": "core"}}
    assert data["admin"] == {"role": "admin", "ttl": "1h", "tags": {"team": "core"}}
    assert data["ops"] == {"role": "admin", "ttl": "8h", "tags": {"team": "core"}, "shell": "bash"}
    assert data["again"] == data["admin"]  # merged from a node that was itself built with a merge


def test_a_key_written_twice_next_to_a_merge_is_still_a_duplicate(tmp_path):
    with pytest.raises(ConfigError, match=r"doc.yaml:5: invalid YAML: duplicate key 'role'"):
        _parse(tmp_path, "user: &user {role: reader}\nadmin:\n  <<: *user\n  role: admin\n  role: root\n")


def test_yaml_v3_scalars_stay_strings(tmp_path):
    data = _parse(tmp_path, "a: yes\nb: on\nc: 2024-01-02\nd: 1e3\n")
    assert data == {"a": "yes", "b": "on", "c": "2024-01-02", "d": 1000.0}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &x [*x]\n", "recursive"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("? [1]\n: x\n", "unhashable key"),
    ],
)
def test_bad_documents_are_config_errors_naming_the_problem(tmp_path, text, problem):
    with pytest.raises(ConfigError, match=problem):
        _parse(tmp_path, text)


def test_map_keys_are_strings_as_atmos_merge_makes_them(tmp_path):
    # Atmos' merge (normalizeMapReflect) prints every non-string key with Go's %v
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            components:
              terraform:
                app:
                  settings:
                    depends_on:
                      1: {component: vpc}
                  vars:
                    ports: {80: http, 1.5: x, true: y, 1000000.0: z, ~: n}
                    merged: {1: {a: 1}, "1": {b: 2}}
                vpc:
                  vars: {}
        """),
    })
    app = stacks.instances[InstanceRef("plat-ue1-dev", "app")]
    assert app.vars["ports"] == {"80": "http", "1.5": "x", "true": "y", "1e+06": "z", "<nil>": "n"}
    assert app.vars["merged"] == {"1": {"a": 1, "b": 2}}  # both maps: merged, as Atmos
    assert app.settings["depends_on"] == {"1": {"component": "vpc"}}
    assert [dep.parent.component for dep in app.dependencies] == ["vpc"]


@pytest.mark.parametrize("body, message", [
    ("{1: a, '1': b}", r"keys that Atmos reads as the same string '1' are not both maps"),
    ("{1: {a: 1}, 1: {b: 2}}", r"duplicate key '1'"),
])
def test_keys_that_collide_as_strings_are_one_line_errors(tmp_path, body, message):
    with pytest.raises(ConfigError, match=rf"stacks/deploy/dev.yaml:\d+: invalid YAML: {message}"):
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": ctx(f"components:\n  terraform:\n    app:\n      vars:\n        m: {body}\n")})
