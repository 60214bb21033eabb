"""The scoped comparison against the full one on every small edit of the example repo's stack files.

Each edit changes one value (a string gets a suffix, a number +1, a boolean flipped) or deletes
one key of a mapping, in one file; `affected_scoped` must give `affected_between_trees`' answer,
or the same refusal. Edits are made on the YAML node tree, so tags (`!terraform.output`, ...)
stay as written.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stackflow.errors import StackflowError
from stackflow.stacks_loader.affected import affected_between_trees
from stackflow.stacks_loader.affected_scope import affected_scoped
from stackflow.stacks_loader.source import FolderTree

EXAMPLE = Path(__file__).parents[2] / "examples" / "acme"
STACK_FILES = sorted(str(p.relative_to(EXAMPLE)) for p in (EXAMPLE / "stacks").rglob("*.yaml"))
_STD = "tag:yaml.org,2002:"


class _NodeLoader(yaml.SafeLoader):
    """Composes any tag: only nodes are read here, never constructed."""


def _nodes(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    children = [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode) else \
        node.value if isinstance(node, yaml.SequenceNode) else []
    for child in children:
        yield from _nodes(child)


def _edits(text: str) -> Iterator[tuple[str, str]]:
    """(what, edited text) for each one-value change and each key deletion."""
    count = sum(1 for _ in _nodes(yaml.compose(text, Loader=_NodeLoader)))
    for index in range(count):
        root = yaml.compose(text, Loader=_NodeLoader)  # a fresh tree for each edit
        node = list(_nodes(root))[index]
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STD + "int" and node.value.lstrip("-").isdigit():
                node.value = str(int(node.value) + 1)
            elif node.tag == _STD + "bool":
                node.value = "false" if node.value.lower() == "true" else "true"
            else:
                node.value += "x"
                node.tag = node.tag if node.tag.startswith("!") else _STD + "str"
            yield f"value {node.value!r}", yaml.serialize(root)
        elif isinstance(node, yaml.MappingNode) and node.value:
            key = node.value.pop(0)[0]
            yield f"key {getattr(key, 'value', key)!r} deleted", yaml.serialize(root)


def _answer(compare) -> object:
    try:
        aset = compare()
    except StackflowError as exc:
        return ("refused", type(exc).__name__)
    return ({str(r): f.reasons for r, f in aset.affected.items()}, {str(r): f.reasons for r, f in aset.deleted.items()})


@pytest.mark.parametrize("rel", STACK_FILES)
def test_scoped_comparison_matches_the_full_one_for_every_edit_of_an_example_stack_file(tmp_path, rel):
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(EXAMPLE / "stacks", base / "stacks")
    shutil.copytree(EXAMPLE / "components", base / "components")
    shutil.copy(EXAMPLE / "atmos.yaml", base / "atmos.yaml")
    shutil.copytree(base, head)
    trees = FolderTree(base), FolderTree(head)
    text = (base / rel).read_text()
    reaching = 0
    for what, edited in _edits(text):
        (head / rel).write_text(edited)
        full = _answer(lambda: affected_between_trees(*trees, [rel]))
        assert _answer(lambda: affected_scoped(*trees, [rel])) == full, f"{rel}: {what}"
        reaching += full[0] != "refused" and bool(full[0] or full[1])
    assert reaching >= 1  # some edits of every example stack file change an instance
