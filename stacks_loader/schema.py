"""The shape of a stack manifest, checked once per file so errors name the file that is wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackflow.errors import ConfigError

MAP_SECTIONS = ("vars", "settings", "env", "overrides", "metadata", "dependencies", "locals", "generate", "auth",
                "hooks")
TERRAFORM_MAP_SECTIONS = (
    "vars",
    "settings",
    "env",
    "backend",
    "remote_state_backend",
    "providers",
    "overrides",
    "dependencies",
    "generate",
    "auth",
    "source",
    "provision",
    "hooks",
)
TERRAFORM_STRING_SECTIONS = ("backend_type", "remote_state_backend_type", "command")
COMPONENT_MAP_SECTIONS = (
    "vars",
    "settings",
    "env",
    "metadata",
    "backend",
    "remote_state_backend",
    "providers",
    "overrides",
    "dependencies",
    "required_providers",
    "generate",
    "auth",
    "provision",
    "hooks",
)
COMPONENT_STRING_SECTIONS = ("backend_type", "remote_state_backend_type", "command", "component", "required_version")
OVERRIDE_SECTIONS = ("vars", "settings", "env", "providers", "command", "auth", "required_providers",
                     "required_version", "hooks", "generate", "secrets", "retry")
# Atmos sections stackflow resolves (inheritance, overrides, precedence) and reports in describe
# output and `describe affected`, but does not act on when it runs terraform: Atmos generates
# files, fetches sources or logs in from them; stackflow warns once per file that sets one.
REPORTED_SECTIONS = ("required_providers", "required_version", "generate", "auth", "source", "provision", "hooks")
# Atmos sections stackflow does not resolve: accepted, reported once per file as a warning.
UNSUPPORTED_SECTIONS = ("secrets", "locals", "mocks", "test", "retry")
# What `describe.affected.sections` may name: the sections an instance carries resolved as Atmos
# resolves them (`inheritance` is the list of base components).
COMPARABLE_SECTIONS = (
    "vars", "env", "settings", "metadata", "providers", "required_providers", "required_version", "generate",
    "backend", "backend_type", "remote_state_backend", "remote_state_backend_type", "auth", "command",
    "dependencies", "source", "provision", "hooks", "inheritance",
)
METADATA_TYPES = ("real", "abstract")
_COMPONENT_TYPES: dict[str, type] = {
    **{key: dict for key in COMPONENT_MAP_SECTIONS},
    **{key: str for key in COMPONENT_STRING_SECTIONS},
}
_SOURCE_TYPES = (dict, str)  # `source: URI` is Atmos' short form of `source: {uri: URI}`
_UNSUPPORTED = frozenset(UNSUPPORTED_SECTIONS)
_REPORTED = frozenset(REPORTED_SECTIONS)
# Atmos reads these on components only: set under `terraform:` they change nothing
_COMPONENT_ONLY = ("required_providers", "required_version")
_GLOBAL_REPORTED = ("generate", "auth", "hooks")  # also read at a manifest's top level
GLOBAL_METADATA_KEYS = ("labels", "tags", "custom", "enabled", "locked", "terraform_workspace_pattern")


def type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def check_manifest(data: Any, path: str, warn: Callable[[str], None]) -> dict[str, Any]:
    """Raise `ConfigError` (naming `path` and the field) if a section has the wrong type."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a stack manifest must be a mapping, not a {type_name(data)}")

    def expect_map(value: Any, field: str) -> None:
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{path}: '{field}' must be a mapping, not a {type_name(value)}")

    def expect_str(value: Any, field: str) -> None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: '{field}' must be a string, not a {type_name(value)}")

    for key in MAP_SECTIONS:
        expect_map(data.get(key), key)
    expect_str(data.get("name"), "name")
    _check_overrides(data.get("overrides"), "overrides", path)
    metadata = data.get("metadata") or {}
    extra = sorted(set(metadata) - set(GLOBAL_METADATA_KEYS))
    if extra:
        raise ConfigError(
            f"{path}: 'metadata.{extra[0]}' is not allowed at the stack level "
            f"(allowed: {', '.join(GLOBAL_METADATA_KEYS)}; set it under components.terraform.<name>.metadata)"
        )
    terraform = data.get("terraform")
    expect_map(terraform, "terraform")
    for key in TERRAFORM_MAP_SECTIONS:
        expect_map((terraform or {}).get(key), f"terraform.{key}")
    for key in TERRAFORM_STRING_SECTIONS:
        expect_str((terraform or {}).get(key), f"terraform.{key}")
    _check_overrides((terraform or {}).get("overrides"), "terraform.overrides", path)
    terraform = terraform or {}
    unsupported = [k for k in UNSUPPORTED_SECTIONS if data.get(k) or terraform.get(k)]
    reported = [k for k in REPORTED_SECTIONS
                if ((k in _GLOBAL_REPORTED and data.get(k)) or terraform.get(k)) and k not in _COMPONENT_ONLY]
    for key in _COMPONENT_ONLY:
        if terraform.get(key):
            warn(f"{path}: 'terraform.{key}' is ignored: Atmos reads {key} on components only")
    components = data.get("components")
    expect_map(components, "components")
    tf_components = (components or {}).get("terraform")
    expect_map(tf_components, "components.terraform")
    for name, component in (tf_components or {}).items():
        field = f"components.terraform.{name}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}: component name {name!r} must be a non-empty string")
        expect_map(component, field)
        if not component:
            continue
        for key, value in component.items():
            expected = _COMPONENT_TYPES.get(key)
            if expected is None or value is None or isinstance(value, expected):
                if key == "source" and value is not None and not isinstance(value, _SOURCE_TYPES):
                    raise ConfigError(f"{path}: '{field}.source' must be a mapping or a URI string, "
                                      f"not a {type_name(value)}")
                continue
            kind = "mapping" if expected is dict else "string"
            raise ConfigError(f"{path}: '{field}.{key}' must be a {kind}, not a {type_name(value)}")
        if "overrides" in component:
            _check_overrides(component["overrides"], f"{field}.overrides", path)
        if component.get("metadata"):
            _check_metadata(component["metadata"], f"{field}.metadata", path)
        if not _UNSUPPORTED.isdisjoint(component):  # a component's own `locals` are resolved (templates read them)
            unsupported += [k for k in UNSUPPORTED_SECTIONS if k != "locals" and component.get(k)]
        if not _REPORTED.isdisjoint(component):
            reported += [k for k in REPORTED_SECTIONS if component.get(k)]
    if unsupported:
        names = ", ".join(sorted(set(unsupported)))
        warn(f"{path}: sections not used by stackflow are ignored: {names}")
    if reported:
        names = ", ".join(sorted(set(reported)))
        warn(f"{path}: sections stackflow resolves and reports, but does not act on when it runs terraform: {names}")
    return data


def _check_overrides(overrides: Any, field: str, path: str) -> None:
    if not overrides:
        return
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: '{field}' must be a mapping, not a {type_name(overrides)}")
    for key, value in overrides.items():
        if key in _UNSUPPORTED:  # `secrets`, `retry`: not resolved by stackflow
            continue
        if key not in OVERRIDE_SECTIONS:
            raise ConfigError(
                f"{path}: '{field}.{key}' cannot be overridden "
                f"(overrides support: {', '.join(OVERRIDE_SECTIONS)})"
            )
        if key in ("command", "required_version"):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{path}: '{field}.{key}' must be a string")
        elif value is not None and not isinstance(value, dict):
            raise ConfigError(f"{path}: '{field}.{key}' must be a mapping, not a {type_name(value)}")


def _check_metadata(metadata: dict[str, Any], field: str, path: str) -> None:
    kind = metadata.get("type")
    if kind is not None and kind not in METADATA_TYPES:
        raise ConfigError(f"{path}: '{field}.type' is {kind!r}; expected 'real' or 'abstract'")
    inherits = metadata.get("inherits")
    if inherits is not None and (
        not isinstance(inherits, list) or not all(isinstance(b, str) and b for b in inherits)
    ):
        raise ConfigError(f"{path}: '{field}.inherits' must be a list of component names")
    for key in ("enabled", "locked"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{path}: '{field}.{key}' must be true or false, not {value!r}")
    for key in ("component", "name", "terraform_workspace", "terraform_workspace_pattern",
                "terraform_workspace_template"):
        value = metadata.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: '{field}.{key}' must be a string, not a {type_name(value)}")
