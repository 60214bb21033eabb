"""Which manifest set the final value of each top-level key of an instance's vars/settings/env.

The merge records the import tree of every stack (`StackImporter.visits`); provenance replays it
only when asked: the winning layer is the highest-precedence one that has the key (overrides,
the component, its bases nearest first, `terraform.*`, global), and within a layer the file
merged last.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .imports import Visit

PROVENANCE_SECTIONS = ("vars", "settings", "env")


def lookup(data: Any, keys: Sequence[Any]) -> tuple[bool, Any]:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def find_definer(visits: Sequence[Visit], *paths: Sequence[Any]) -> Visit | None:
    """The manifest merged last that has one of `paths` (e.g. `("components", "terraform", "vpc")`)."""
    for visit in reversed(visits):
        if any(lookup(visit.data, keys)[0] for keys in paths):
            return visit
    return None


def instance_provenance(
    visits: Sequence[Visit],
    component: str,
    inheritance: Sequence[str],
    sections: dict[str, dict[str, Any]],
    stacks_path,
    atmos_config_file: str,
    atmos_env: dict[str, Any],
) -> dict[str, str]:
    """`{"vars.region": "stacks/mixins/region/us-east-1.yaml", …}` for each final top-level key."""
    defining = {v.path for v in visits if lookup(v.data, ("components", "terraform", component))[0]}
    in_scope = [v for v in visits if v.path in defining or any(
        w.path in defining and v.path in w.ancestors for w in visits
    )]
    out: dict[str, str] = {}
    for section, values in sections.items():
        layers: list[tuple[Sequence[Visit], list[tuple[Any, ...]]]] = [
            (in_scope, [("overrides", section), ("terraform", "overrides", section),
                        ("components", "terraform", component, "overrides", section)]),
            (visits, [("components", "terraform", component, section)]),
            *((visits, [("components", "terraform", base, section)]) for base in inheritance),
            (visits, [("terraform", section)]),
            (visits, [(section,)]),
        ]
        for key in values:
            source = None
            for layer_visits, prefixes in layers:
                found = find_definer(layer_visits, *((*prefix, key) for prefix in prefixes))
                if found is not None:
                    source = stacks_path(found.path)
                    break
            if source is None and section == "env" and key in atmos_env:
                source = atmos_config_file
            out[f"{section}.{key}"] = source or ""
    return out
