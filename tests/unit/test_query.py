"""The yq path subset of `describe … --query` and `!include path query`."""

from __future__ import annotations

import pytest

from stackflow.stacks_loader.query import QueryError, path_steps, select

DOC = {"vars": {"ids": ["a", "b"], "tags": {"team": "core"}, "a.b": 1, "plat-ue1-dev": True, "none": None}}


@pytest.mark.parametrize(("query", "steps"), [
    (".", []),
    (".vars.ids[1]", ["vars", "ids", 1]),
    (".vars.ids.[1]", ["vars", "ids", 1]),
    ('.vars["a.b"]', ["vars", "a.b"]),
    ('.vars."a.b"', ["vars", "a.b"]),
    ('.["vars"].tags', ["vars", "tags"]),
    (".[0].name", [0, "name"]),
    (".plat-ue1-dev.components", ["plat-ue1-dev", "components"]),
])
def test_path_steps(query, steps):
    assert path_steps(query) == steps


@pytest.mark.parametrize("query", ["", "vars", "..", "..vars", ".vars.", "[0]", '["vars"]', ".vars[]",
                                   ".vars | keys", ".vars[x]", '.vars["a', ".vars[-1]"])
def test_anything_else_is_refused_not_guessed(query):
    with pytest.raises(QueryError, match="is not supported"):
        path_steps(query)


def test_select_reads_the_value_and_gives_null_where_yq_does():
    assert select(DOC, ".") is DOC
    assert select(DOC, ".vars.ids[1]") == "b"
    assert select(DOC, '.vars["a.b"]') == 1 and select(DOC, ".vars.plat-ue1-dev") is True
    assert select(DOC, ".vars.tags") == {"team": "core"}
    for missing in (".vars.nope", ".vars.ids[2]", ".vars.tags[0]", ".vars.ids.x", ".vars.none.x"):
        assert select(DOC, missing) is None
    assert select(DOC, ".vars.nope", missing="gone") == "gone"
