"""The scoped comparison (resolve only what a change reaches) gives the full comparison's answer."""

from __future__ import annotations

import random
import shutil
import textwrap
from pathlib import Path

import pytest

from stackflow.stacks_loader.affected import affected_between_trees
from stackflow.stacks_loader.affected_scope import affected_scoped
from stackflow.stacks_loader.source import FolderTree

from tests.bench import loader_bench
from tests.loader.repos import write_repo

from .gitrepos import TF
from .test_affected import CATALOG, FILES, STATE_READ_CHANGES, STATE_READS

EXTRA = {
    **FILES,
    "stacks/catalog/base.yaml": CATALOG + """
        web/base:
          metadata: {type: abstract, component: app}
          vars: {size: 1}
        web:
          metadata: {component: app, inherits: [web/base]}
          vars: {tags: !include ../../configs/tags.yaml}
    """,
    "stacks/catalog/db.yaml": "components:\n  terraform:\n    db:\n      vars: {engine: pg}\n",
    "stacks/deploy/prod.yaml": "import: [catalog/base, catalog/db]\n"
                               "vars: {tenant: plat, environment: ue1, stage: prod}\n",
    "components/terraform/db/main.tf": TF,
    "configs/tags.yaml": "team: web\n",
    # a local module outside the components folder, called by db
    "components/terraform/db/modules.tf": 'module "shared" {\n  source = "../../../modules/shared"\n}\n',
    "modules/shared/main.tf": TF,
}

CHANGES = {
    "catalog component vars": {"stacks/catalog/db.yaml": "components:\n  terraform:\n    db:\n      vars: {engine: my}\n"},
    "catalog abstract base": {"stacks/catalog/base.yaml": EXTRA["stacks/catalog/base.yaml"].replace("size: 1", "size: 2")},
    "catalog component added": {"stacks/catalog/db.yaml": "components:\n  terraform:\n    db:\n      vars: {engine: pg}\n"
                                                          "    cache:\n      metadata: {component: db}\n"},
    "catalog component removed": {"stacks/catalog/db.yaml": "components:\n  terraform: {}\n"},
    "catalog global vars": {"stacks/catalog/db.yaml": EXTRA["stacks/catalog/db.yaml"] + "vars: {owner: me}\n"},
    "import removed": {"stacks/deploy/prod.yaml": "import: [catalog/base]\n"
                                                  "vars: {tenant: plat, environment: ue1, stage: prod}\n"},
    "stack deleted": {"stacks/deploy/dev.yaml": None},
    "stack added": {"stacks/deploy/qa.yaml": "import: [catalog/db]\nvars: {tenant: plat, environment: ue1, stage: qa}\n"},
    "component folder": {"components/terraform/app/main.tf": TF + "# x\n"},
    "module two levels down": {"components/terraform/modules/names/main.tf": TF + "# x\n"},
    "module outside the components folder": {"modules/shared/main.tf": TF + "# x\n"},
    "depends_on file": {"configs/app.json": "{\"a\": 2}\n"},
    "depends_on folder": {"src/app/new.py": "x = 2\n"},
    "included file": {"configs/tags.yaml": "team: platform\n"},
    "component folder added": {"components/terraform/new/main.tf": TF},
    "unrelated file": {"README.md": "hello\n"},
    "atmos.yaml": {"atmos.yaml": open(Path(__file__).parents[1] / "loader" / "repos.py").read()
                   .split('ATMOS_YAML = """\\\n')[1].split('"""')[0].replace("_defaults.yaml", "_skip.yaml")},
}


def _summary(aset):
    return ({str(r): f.reasons for r, f in aset.affected.items()},
            {str(r): f.reasons for r, f in aset.deleted.items()}, sorted(map(str, aset.dependents)))


def _pair(tmp_path: Path, files: dict, change: dict) -> tuple[Path, Path, list[str]]:
    base = write_repo(tmp_path / "base", files)
    head = tmp_path / "head"
    shutil.copytree(base, head)
    for rel, text in change.items():
        if text is None:
            (head / rel).unlink()
        else:
            (head / rel).parent.mkdir(parents=True, exist_ok=True)
            (head / rel).write_text(textwrap.dedent(text))
    return base, head, sorted(change)


@pytest.mark.parametrize("dependents", [False, True])
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_scoped_comparison_gives_the_full_answer(tmp_path, name, dependents):
    base, head, changed = _pair(tmp_path, EXTRA, CHANGES[name])
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed, include_dependents=dependents)
    scoped = affected_scoped(*trees, changed, include_dependents=dependents)
    assert _summary(scoped) == _summary(full)


def test_a_change_to_a_file_atmos_yaml_imports_gets_the_full_answer(tmp_path):
    files = {**EXTRA, "atmos.yaml": "import: [configs/stacks.yaml]\n",
             "configs/stacks.yaml": ("stacks: {base_path: stacks, included_paths: ['deploy/**/*'], "
                                     "name_pattern: '{tenant}-{environment}-{stage}'}\n")}
    change = {"configs/stacks.yaml": files["configs/stacks.yaml"].replace("'deploy/**/*'", "'deploy/dev.yaml'")}
    base, head, changed = _pair(tmp_path, files, change)
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed)
    assert {str(r) for r in full.deleted} == {"plat-ue1-prod/app", "plat-ue1-prod/db", "plat-ue1-prod/subnets",
                                              "plat-ue1-prod/vpc", "plat-ue1-prod/web"}
    assert _summary(affected_scoped(*trees, changed)) == _summary(full)


SIZES = "components:\n  terraform:\n    db:\n      vars: {size: 3}\n"
NO_SIZES = "components:\n  terraform: {}\n"


@pytest.mark.parametrize("before, after", [(SIZES, NO_SIZES), (NO_SIZES, SIZES)], ids=["removed", "added"])
def test_a_change_of_which_component_comes_first_in_a_stack_adds_or_deletes_nothing(tmp_path, before, after):
    """The scoped load resolves a stack's first component only to learn that the stack exists; when
    the change makes another component first, neither reads as added or deleted."""
    files = {**EXTRA, "stacks/mixins/sizes.yaml": before,
             "stacks/deploy/prod.yaml": "import: [mixins/sizes, catalog/base, catalog/db]\n"
                                        "vars: {tenant: plat, environment: ue1, stage: prod}\n"}
    base, head, changed = _pair(tmp_path, files, {"stacks/mixins/sizes.yaml": after})
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed)
    assert {str(r): f.reasons for r, f in full.affected.items()} == {"plat-ue1-prod/db": ("stack.vars",)}
    assert not full.deleted
    assert _summary(affected_scoped(*trees, changed)) == _summary(full)


DNS = ("import: [catalog/base]\nvars: {tenant: plat, environment: ue1, stage: dev}\n"
       "components: {terraform: {dns: {metadata: {component: app}}}}\n")
TWO_MANIFESTS = {  # name: (the second manifest's files in base, in head; what full reports)
    "deleted": ({"stacks/deploy/dev-dns.yaml": DNS}, {"stacks/deploy/dev-dns.yaml": None}, (set(), {"dns"})),
    "added": ({}, {"stacks/deploy/dev-dns.yaml": DNS}, ({"dns"}, set())),
    "renamed": ({"stacks/deploy/dev-dns.yaml": DNS}, {"stacks/deploy/dev-dns.yaml": None,
                                                       "stacks/deploy/dev-zz.yaml": DNS}, (set(), set())),
}


@pytest.mark.parametrize("dependents", [False, True])
@pytest.mark.parametrize("name", sorted(TWO_MANIFESTS))
def test_a_manifest_of_a_stack_made_of_two_adds_deletes_only_what_it_alone_defines(tmp_path, name, dependents):
    """Two top-level manifests make one stack (Atmos' stack composition); the other, which the
    change does not reach, still defines the instances they share, alike."""
    in_base, change, (added, deleted) = TWO_MANIFESTS[name]
    base, head, changed = _pair(tmp_path, {**EXTRA, **in_base}, change)
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed, include_dependents=dependents)
    assert {r.component for r in full.affected} == added and {r.component for r in full.deleted} == deleted
    assert _summary(affected_scoped(*trees, changed, include_dependents=dependents)) == _summary(full)


@pytest.mark.parametrize("shape", ["catalog-heavy", "inline"])
def test_scoped_comparison_matches_on_the_generated_benchmark_repo(tmp_path, shape):
    bench = loader_bench()
    base = tmp_path / "base"
    bench.generate(base, 300, shape)
    files = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and "atmos" not in p.name)
    rng = random.Random(7)
    for round_ in range(4):
        head = tmp_path / f"head{round_}"
        shutil.copytree(base, head)
        rel = rng.choice(files)
        text = (head / rel).read_text()
        (head / rel).write_text(text.replace("enabled: true", "enabled: false") if "enabled: true" in text
                                else text + "\n# changed\n")
        trees = FolderTree(base), FolderTree(head)
        assert _summary(affected_scoped(*trees, [rel])) == _summary(affected_between_trees(*trees, [rel])), rel


# Newer Atmos features the scoped comparison must see through: file locals, component-level
# locals, !append / !unset across imports, templates, and atmos.Component reads across stacks.
FEATURES = {
    **EXTRA,
    "stacks/catalog/features.yaml": """
        locals: {team: web}
        components:
          terraform:
            cache:
              metadata: {component: db}
              locals: {size: small}
              vars:
                owner: "{{ .locals.team }}"
                zones: [a]
                flavour: "{{ .locals.size }}-{{ .vars.stage }}"
                legacy: drop-me
    """,
    "stacks/mixins/more.yaml": """
        components:
          terraform:
            cache:
              vars:
                zones: !append [b]
                legacy: !unset
    """,
    "stacks/deploy/qa.yaml": "import: [catalog/features, mixins/more]\n"
                             "vars: {tenant: plat, environment: ue1, stage: qa}\n",
}
READER = {  # a stack whose value reads another stack's instance: any change may reach it
    **FEATURES,
    "stacks/deploy/qa.yaml": FEATURES["stacks/deploy/qa.yaml"]
    + "components:\n  terraform:\n    reader:\n      metadata: {component: db}\n"
      "      vars: {dev_cidr: '{{ (atmos.Component \"vpc\" \"plat-ue1-dev\").vars.cidr }}'}\n",
}
FEATURE_CHANGES = {
    "file local": {"stacks/catalog/features.yaml": FEATURES["stacks/catalog/features.yaml"].replace("team: web", "team: data")},
    "component local": {"stacks/catalog/features.yaml": FEATURES["stacks/catalog/features.yaml"].replace("small", "large")},
    "appended list": {"stacks/mixins/more.yaml": FEATURES["stacks/mixins/more.yaml"].replace("[b]", "[c]")},
    "unset removed": {"stacks/mixins/more.yaml": FEATURES["stacks/mixins/more.yaml"].replace("legacy: !unset", "")},
    "value another stack reads": {"stacks/catalog/base.yaml": FEATURES["stacks/catalog/base.yaml"].replace(
        "10.0.0.0/16", "10.1.0.0/16")},
}


@pytest.mark.parametrize("name", sorted(FEATURE_CHANGES))
def test_scoped_comparison_gives_the_full_answer_with_newer_atmos_features(tmp_path, name):
    files = READER if name == "value another stack reads" else FEATURES
    base, head, changed = _pair(tmp_path, files, FEATURE_CHANGES[name])
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed)
    assert full.affected, "each change must affect something, or the comparison proves nothing"
    assert _summary(affected_scoped(*trees, changed)) == _summary(full)
    if files is READER:
        assert "plat-ue1-qa/reader" in {str(ref) for ref in full.affected}


@pytest.mark.parametrize("change", sorted(STATE_READ_CHANGES))
def test_scoped_comparison_sees_readers_of_an_abstract_components_state_in_other_stacks(tmp_path, change):
    # catalog/network.yaml is imported by dev only; prod reads it from there, with no edge
    base, head, changed = _pair(tmp_path, STATE_READS, {"stacks/catalog/network.yaml": STATE_READ_CHANGES[change]})
    trees = FolderTree(base), FolderTree(head)
    full = affected_between_trees(*trees, changed)
    assert _summary(affected_scoped(*trees, changed)) == _summary(full)


def test_a_changed_folder_named_like_a_mapping_key_reaches_no_stack(tmp_path):
    """`docs:` as a settings key does not tie a stack to a change in `docs/`; `folder: docs` does."""
    from stackflow.stacks_loader.affected_scope import StackIndex, _mention_tokens
    from stackflow.stacks_loader.atmos_config import load_atmos_config

    files = {**EXTRA, "docs/a.md": "x\n",
             "stacks/deploy/dev.yaml": EXTRA["stacks/deploy/dev.yaml"] + "settings: {docs: https://wiki.example.com/handbook}\n"}
    tree = FolderTree(write_repo(tmp_path / "repo", files))
    atmos = load_atmos_config(tree, {})
    index = StackIndex(tree, atmos)
    other, folders = _mention_tokens(["docs/a.md"], atmos, [tree])
    assert "docs" in other and index.scope(["docs/a.md"], {}, other, folders) == {}
    (tmp_path / "repo" / "stacks/deploy/dev.yaml").write_text(
        files["stacks/deploy/dev.yaml"] + "components: {terraform: {app: {settings: {depends_on: {1: {folder: docs}}}}}}\n")
    assert set(StackIndex(tree, atmos).scope(["docs/a.md"], {}, other, folders)) == {"deploy/dev.yaml"}
