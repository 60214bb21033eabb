"""What the loader shares between instances to go fast, and what it never lets leak."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stackflow.stacks_loader.merge import Tail, merge, merge_all
from stackflow.stacks_loader.model import InstanceRef

from stackflow.errors import ConfigError

from .repos import ctx, load_repo, write_repo

CATALOG = {
    "stacks/catalog/app.yaml": """
        components:
          terraform:
            app/base:
              metadata: {type: abstract, component: app}
              vars: {tags: {team: core}, sizes: [1, 2], alarms: {cpu: {threshold: 80}}}
              settings: {owner: core}
              env: {LOG: info}
              providers: {aws: {region: us-east-1}}
            app:
              metadata: {component: app, inherits: [app/base]}
              vars: {name: app}
              settings:
                depends_on:
                  1: {component: db}
              dependencies:
                files: [configs/app.json]
            db:
              vars: {name: db}
    """,
    "stacks/_defaults.yaml": """
        terraform:
          backend_type: s3
          backend:
            s3: {bucket: state}
    """,
    "stacks/deploy/dev.yaml": ctx("import: [_defaults, catalog/app]\n", stage="dev"),
    "stacks/deploy/prod.yaml": ctx("import: [_defaults, catalog/app]\n", stage="prod"),
    "components/terraform/app/main.tf": "",
    "components/terraform/db/main.tf": "",
}
_SECTIONS = ("vars", "settings", "env", "metadata", "providers", "backend", "remote_state_backend")
_LISTS = ("dependencies", "depends_on_files", "depends_on_folders", "inheritance")
_SHARED_READ_ONLY = ("imports",)  # one tuple per stack manifest: nobody can change it


def _snapshot(inst: Any) -> str:
    return json.dumps({f: getattr(inst, f) for f in (*_SECTIONS, *_LISTS, *_SHARED_READ_ONLY)}, default=str)


@pytest.mark.parametrize("marked", [False, True], ids=["plain", "with-env-marker"])
def test_changing_one_instance_never_shows_in_another(tmp_path, marked):
    """Plain stacks share sections between instances, marked ones resolve each: both hand out copies."""
    files = dict(CATALOG)
    if marked:
        files["stacks/_defaults.yaml"] = (
            "vars: {home: !env HOME}\nterraform: {backend_type: s3, backend: {s3: {bucket: state}}}\n"
        )
    stacks = load_repo(tmp_path, files, {"HOME": "/home/x"})
    dev, prod = InstanceRef("plat-ue1-dev", "app"), InstanceRef("plat-ue1-prod", "app")
    others = [inst for ref, inst in stacks.instances.items() if ref != dev]
    before = {inst.ref: _snapshot(inst) for inst in others}
    inst = stacks.instances[dev]
    assert inst.vars["tags"] == {"team": "core"} and inst.dependencies and inst.depends_on_files

    for name in _SECTIONS:
        section = getattr(inst, name)
        section["added"] = 1
        for key in list(section):
            if key != "added":
                section[key] = "replaced"
    for name in _LISTS:
        getattr(inst, name).append("added")
    for name in _SHARED_READ_ONLY:
        assert isinstance(getattr(inst, name), tuple) and getattr(inst, name)

    assert {other.ref: _snapshot(other) for other in others} == before
    assert stacks.instances[prod].vars["tags"] == {"team": "core"}
    assert load_repo(tmp_path, files).instances[dev].vars["name"] == "app"
    assert ("home" in inst.vars) is marked


def test_backend_and_remote_state_backend_are_separate_dicts(tmp_path):
    inst = load_repo(tmp_path, CATALOG).instances[InstanceRef("plat-ue1-dev", "app")]
    assert inst.backend == inst.remote_state_backend == {"bucket": "state", "workspace_key_prefix": "app"}
    inst.backend["bucket"] = "other"
    assert inst.remote_state_backend["bucket"] == "state"


def _run_in_fresh_interpreter(script: str, repo: Path) -> str:
    """Run `script` with the repo's path as argv[1]; return what it printed.

    The collector's counts are per process: in a test worker, other tests' threads (Prefect's
    clients) allocate, and make cyclic garbage of their own, at any moment.
    """
    probe = subprocess.run(
        [sys.executable, "-c", script, str(repo)], check=False, capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.strip()


_CYCLE_PROBE = """
import collections, gc, sys
from stackflow.stacks_loader.resolve import load_stacks

load_stacks(sys.argv[1], {}).graph()  # first load: imports and caches of libraries settle
gc.collect()
gc.disable()
gc.set_debug(gc.DEBUG_SAVEALL)
stacks = load_stacks(sys.argv[1], {})
graph = stacks.graph()
assert len(graph) == 4, len(graph)
del stacks, graph
gc.collect()
print(dict(collections.Counter(type(o).__qualname__ for o in gc.garbage)))
"""


def test_loading_and_the_graph_leave_no_reference_cycles_behind(tmp_path):
    """Refcounting alone frees a load: nothing is left for the cyclic collector to find."""
    write_repo(tmp_path, CATALOG)
    assert _run_in_fresh_interpreter(_CYCLE_PROBE, tmp_path) == "{}"  # else: the types caught in cycles


_YOUNG_PROBE = """
import gc, json, sys
from stackflow.stacks_loader.resolve import load_stacks

gc.enable()
gc.collect()
stacks = load_stacks(sys.argv[1], {})
after_load = (gc.get_count()[0], gc.get_freeze_count(), gc.isenabled())
stacks.graph()
print(json.dumps([after_load, (gc.get_count()[0], gc.get_freeze_count(), gc.isenabled())]))
"""


def test_what_a_load_built_is_old_for_the_collector(tmp_path):
    """No young-generation backlog: the next allocations do not walk every loaded object."""
    write_repo(tmp_path, CATALOG)
    for young, frozen, enabled in json.loads(_run_in_fresh_interpreter(_YOUNG_PROBE, tmp_path)):
        assert young < 50 and frozen == 0 and enabled


_FROZEN_PROBE = """
import gc, json, sys
from stackflow.stacks_loader.resolve import load_stacks

gc.freeze()
frozen = gc.get_freeze_count()
load_stacks(sys.argv[1], {}).graph()
print(json.dumps([frozen, gc.get_freeze_count()]))
"""


def test_objects_frozen_by_the_caller_stay_frozen(tmp_path):
    # In a fresh interpreter: in a test worker, other tests' threads free frozen objects at any
    # moment, and each one freed leaves the permanent generation (its count drops).
    write_repo(tmp_path, CATALOG)
    before, after = json.loads(_run_in_fresh_interpreter(_FROZEN_PROBE, tmp_path))
    assert before > 0 and after >= before


def test_a_context_var_that_is_a_list_fails_the_stack_name_not_the_loader(tmp_path):
    with pytest.raises(ConfigError, match="var 'tenant' is not set"):
        load_repo(tmp_path, {"stacks/deploy/dev.yaml": "vars: {tenant: [a], environment: ue1, stage: dev}\n"
                                                    "components: {terraform: {vpc: {}}}\n"})


def test_a_map_over_a_scalar_in_a_base_cuts_off_the_globals_below(tmp_path):
    """Deep merge is not associative: precomputed layers must not merge the global map back in."""
    stacks = load_repo(tmp_path, {
        "stacks/deploy/dev.yaml": ctx("""
            vars: {tags: {global: 1}}
            components:
              terraform:
                base:
                  metadata: {type: abstract}
                  vars: {tags: null}
                app:
                  metadata: {inherits: [base]}
                  vars: {tags: {own: 1}}
        """),
        "components/terraform/app/main.tf": "",
    })
    assert stacks.instances[InstanceRef("plat-ue1-dev", "app")].vars["tags"] == {"own": 1}


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.choice(("scalar", "none", "list", "map", "map") if depth else ("scalar", "none", "list"))
    if kind == "scalar":
        return rng.choice((1, "x", True, 2.5))
    if kind == "none":
        return None
    if kind == "list":
        return [_random_value(rng, depth - 1) if rng.random() < 0.3 else rng.randint(0, 3) for _ in range(3)]
    return _random_map(rng, depth - 1)


def _random_map(rng: random.Random, depth: int) -> dict[str, Any]:
    return {rng.choice("abcde"): _random_value(rng, depth) for _ in range(rng.randint(0, 4))}


def _ordered(value: Any) -> Any:
    """The value with every map as a list of items: equal only if key order is equal too."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


@pytest.mark.parametrize("strategy", ["replace", "append", "merge"])
def test_a_prepared_tail_merges_exactly_like_folding_every_layer(strategy):
    rng = random.Random(7)
    regrouped = 0
    for _ in range(3000):
        layers = [_random_map(rng, 3) for _ in range(rng.randint(0, 3))]
        tail = Tail(strategy, *layers)
        regrouped += tail.merged is not None
        for lowest in (_random_map(rng, 3), {}, None):
            expected = merge_all([lowest, *layers], strategy)
            result = tail.over(lowest)
            assert _ordered(result) == _ordered(expected)
            assert result is not lowest and all(result is not layer for layer in layers)
            assert _ordered(tail.read_over(lowest)) == _ordered(expected)
    assert regrouped > 1000 or strategy == "merge"  # the fast path is the common one


def _reference_merge(lower: dict[str, Any], higher: dict[str, Any], strategy: str) -> dict[str, Any]:
    """Atmos' deep merge written plainly: copy, then each key of the higher layer in turn."""
    result = dict(lower)
    for key, value in higher.items():
        old = result.get(key)
        if key in result and isinstance(value, dict) and isinstance(old, dict):
            result[key] = _reference_merge(old, value, strategy)
        elif key in result and strategy != "replace" and isinstance(value, list) and isinstance(old, list):
            if strategy == "append":
                result[key] = old + value
            else:
                merged = list(old)
                for index, item in enumerate(value):
                    if index >= len(old):
                        merged.append(item)
                    elif isinstance(item, dict) and isinstance(old[index], dict):
                        merged[index] = _reference_merge(old[index], item, strategy)
                result[key] = merged
        else:
            result[key] = value
    return result


@pytest.mark.parametrize("strategy", ["replace", "append", "merge"])
def test_merge_matches_a_plain_deep_merge_values_and_key_order(strategy):
    rng = random.Random(11)
    for _ in range(5000):
        lower, higher = _random_map(rng, 3), _random_map(rng, 3)
        assert _ordered(merge(lower, higher, strategy)) == _ordered(_reference_merge(lower, higher, strategy))


@pytest.mark.parametrize("first", ["dev", "prod"])
def test_a_base_naming_a_component_by_the_old_attribute_inherits_it_only_where_it_exists(tmp_path, first):
    """A shared catalog section whose `component:` points at a component one stack lacks."""
    order = {"dev": "a", "prod": "b"} if first == "dev" else {"dev": "b", "prod": "a"}
    stacks = load_repo(tmp_path, {
        "stacks/catalog/app.yaml": """
            components:
              terraform:
                b: {component: x, vars: {from_b: 1}}
                app: {metadata: {inherits: [b]}, vars: {from_app: 1}}
        """,
        f"stacks/deploy/{order['dev']}.yaml": ctx(
            "import: [catalog/app]\ncomponents: {terraform: {x: {vars: {from_x: 1}}}}\n", stage="dev"),
        f"stacks/deploy/{order['prod']}.yaml": ctx("import: [catalog/app]\n", stage="prod"),
    })
    dev, prod = (stacks.instances[InstanceRef(f"plat-ue1-{s}", "app")] for s in ("dev", "prod"))
    assert dev.inheritance == ["b", "x"] and dev.vars["from_x"] == 1
    assert prod.inheritance == ["b"] and "from_x" not in prod.vars
    # where `x` is no component, Atmos ignores `component: x` (not a base, not the folder)
    assert stacks.instances[InstanceRef("plat-ue1-prod", "b")].component_path == "components/terraform/b"
    assert stacks.instances[InstanceRef("plat-ue1-dev", "b")].component_path == "components/terraform/x"
