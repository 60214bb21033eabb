"""The loader's small parts: merge strategies, globs, templates, source trees."""

from __future__ import annotations

import re

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.filetypes import include_extension
from stackflow.stacks_loader.globs import glob_match
from stackflow.stacks_loader.merge import merge, merge_all
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.resolve import load_stacks
from stackflow.stacks_loader.source import FolderTree, normalize_relpath
from stackflow.stacks_loader.templates import TemplateError, render


def test_merge_shares_untouched_subtrees_and_never_mutates_inputs():
    lower = {"a": {"x": 1}, "b": {"y": 2}}
    higher = {"a": {"z": 3}}
    result = merge(lower, higher)
    assert result == {"a": {"x": 1, "z": 3}, "b": {"y": 2}}
    assert result["b"] is lower["b"] and lower == {"a": {"x": 1}, "b": {"y": 2}}


def test_merge_replaces_on_type_change_and_skips_empty_layers():
    assert merge({"a": {"x": 1}}, {"a": [1]}) == {"a": [1]}
    assert merge_all([None, {}, {"a": 1}, {}]) == {"a": 1}


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("orgs/**/*.yaml", "orgs/a.yaml", True),
        ("orgs/**/*.yaml", "orgs/x/y/a.yaml", True),
        ("orgs/*.yaml", "orgs/x/a.yaml", False),
        ("**/_defaults.yaml", "_defaults.yaml", True),
        ("**/_defaults.yaml", "a/b/_defaults.yaml", True),
        ("catalog/{vpc,dns}.yaml", "catalog/dns.yaml", True),
        ("catalog/[a-c]*.yaml", "catalog/dns.yaml", False),
        ("stage-?.yaml", "stage-1.yaml", True),
    ],
)
def test_globs_follow_doublestar(pattern, path, matches):
    assert glob_match(pattern, path) is matches


def test_templates_render_go_syntax_and_refuse_what_atmos_reads_from_outside():
    data = {"vars": {"tenant": "plat", "n": 3, "on": True}, "stack": "dev"}
    assert render("{{ .vars.tenant }}-{{.stack}}", data) == "plat-dev"
    assert render('{{ printf "%s-%d" .vars.tenant .vars.n }} {{ .vars.on }}', data) == "plat-3 true"
    assert render('{{ "{{" }} .x }}', data) == "{{ .x }}"
    assert render('{{ if .stack }}{{ .stack | upper }}{{ end }}', data) == "DEV"
    for bad in ("{{ index .vars 0 }}", "{{ .vars }}", "{{ atmos.Store \"ssm\" .stack \"vpc\" \"id\" }}",
                "{{ template \"x\" }}", "{{ env \"HOME\" }}"):
        with pytest.raises(TemplateError):
            render(bad, data)


def test_templates_lex_actions_as_go_does_so_literals_may_hold_closing_braces():
    data = {"x": "X"}
    assert render("{{`{{ .x }}`}}", data) == "{{ .x }}"
    assert render('{{ "}}" }}-{{ printf "%s }}" .x }}', data) == "}}-X }}"
    assert render("a {{- /* a comment with }} */ -}} b", data) == "ab"
    for bad, message in [
        ('{{ "x }}', "unterminated quoted string in template action '{{ \"x }}'"),
        ("{{ `x }}", "unterminated raw quoted string"),
        ("{{ .x", "unclosed template action"),
        ("{{/* x }}", "unclosed comment"),
    ]:
        with pytest.raises(TemplateError, match=re.escape(message)):
            render(bad, data)


@pytest.mark.parametrize(
    ("path", "extension"),
    [
        ("a/b.JSON", ".json"), ("vpc/dev.tfvars", ".tfvars"), ("x.env", ".env"), (".env.local", ".env"),
        (".env", ".env"), (".gitignore", ""), ("notes", ""), ("file.", ""), ("a.backup.yaml", ".yaml"),
    ],
)
def test_included_files_are_parsed_by_the_extension_atmos_sees(path, extension):
    assert include_extension(path) == extension


def test_paths_outside_the_repository_are_refused():
    assert normalize_relpath("a/./b/../c") == "a/c"
    for bad in ("../x", "/etc", "a/../../x"):
        with pytest.raises(ConfigError):
            normalize_relpath(bad)


class DictTree:
    """A SourceTree over a dict, as a git tree will be: the loader needs nothing else."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {k: v.encode() for k, v in files.items()}

    def read_bytes(self, relpath: str) -> bytes:
        if relpath not in self.files:
            raise FileNotFoundError(relpath)
        return self.files[relpath]

    def is_file(self, relpath: str) -> bool:
        return relpath in self.files

    def is_dir(self, relpath: str) -> bool:
        return any(f.startswith(relpath.rstrip("/") + "/") for f in self.files)

    def walk_files(self, reldir: str):
        prefix = reldir.rstrip("/") + "/" if reldir else ""
        return sorted(f for f in self.files if f.startswith(prefix))


def test_any_source_tree_works_not_only_a_folder():
    tree = DictTree({
        "atmos.yaml": "stacks: {base_path: stacks, included_paths: ['*.yaml'], name_pattern: '{stage}'}\n",
        "stacks/dev.yaml": "import: [catalog/vpc]\nvars: {stage: dev}\n",
        "stacks/catalog/vpc.yaml": "components: {terraform: {vpc: {vars: {cidr: 10.0.0.0/16}}}}\n",
        "components/terraform/vpc/main.tf": "",
    })
    stacks = load_stacks(tree, {})
    assert stacks.instances[InstanceRef("dev", "vpc")].vars["cidr"] == "10.0.0.0/16"
    assert stacks.warnings == []


def test_folder_tree_lists_files_as_repo_relative_posix_paths(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.yaml").write_text("x: 1\n")
    (tmp_path / "a" / "d.yaml").write_text("x: 1\n")
    tree = FolderTree(tmp_path)
    assert list(tree.walk_files("a")) == ["a/d.yaml", "a/b/c.yaml"]
    assert tree.is_dir("a/b") and tree.is_file("a/d.yaml") and not tree.is_file("a/b")
    with pytest.raises(FileNotFoundError):
        tree.read_bytes("a/missing.yaml")
