"""`!include path query` takes the describe --query path subset and names it when refused."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError

from .repos import load_repo

FILES = {"config/x.yaml": "a: {b: [1, 2], 'c.d': 3}\n"}


def _vars(tmp_path, query: str) -> dict:
    stacks = load_repo(tmp_path, {**FILES, "stacks/deploy/dev.yaml": (
        "vars: {tenant: plat, environment: ue1, stage: dev}\n"
        f"components:\n  terraform:\n    vpc:\n      vars:\n        x: !include config/x.yaml {query}\n")})
    return next(iter(stacks.instances.values())).vars


def test_include_query_reads_keys_indexes_and_quoted_keys(tmp_path):
    assert _vars(tmp_path / "1", ".a.b[1]")["x"] == 2
    assert _vars(tmp_path / "2", '.a["c.d"]')["x"] == 3


@pytest.mark.parametrize(("query", "message"), [
    (".a.nope", "!include query '.a.nope' matches nothing"),
    ("..b", "!include query '..b' is not supported (only .key, [\"key\"] and [index] steps"),
])
def test_include_query_refusals_are_one_line_and_name_the_file(tmp_path, query, message):
    with pytest.raises(ConfigError) as err:
        _vars(tmp_path, query)
    assert "stacks/deploy/dev.yaml" in str(err.value) and message in str(err.value) and "\n" not in str(err.value)
