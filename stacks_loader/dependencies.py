"""What an instance depends on, from `dependencies` (current) or `settings.depends_on` (legacy).

As Atmos (`describe dependents` / `describe affected`): when `dependencies.components` lists
components, the legacy `settings.depends_on` (and the older component-level `depends_on`) is not
read for edges. Legacy entries naming `namespace`/`tenant`/`environment`/`stage` match the
instance of that component whose vars carry those values, missing ones taken from the
dependent's own vars. Watched paths come from `dependencies.files`/`folders` (and
`kind: file|folder` entries), else from legacy `file:`/`folder:` entries.

Declarations are parsed once per distinct section (catalog components share theirs across
stacks), then bound to each instance's stack.
"""

from __future__ import annotations

import operator
import posixpath
from dataclasses import dataclass, field
from typing import Any

from stackflow.errors import ConfigError

from .model import Dependency
from .naming import context_value
from .refs import InstanceRefs
from .source import normalize_relpath

LEGACY_CONTEXT = ("namespace", "tenant", "environment", "stage")


@dataclass(frozen=True)
class LegacyMatch:
    """A `settings.depends_on` entry resolved after all instances exist (matched on vars)."""

    component: str
    context: tuple[tuple[str, str], ...]  # (key, value) that the parent's vars must have
    entry: str


@dataclass
class DeclaredDependencies:
    dependencies: list[Dependency] = field(default_factory=list)
    legacy: list[LegacyMatch] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    """One component dependency as declared, not yet bound to a stack."""

    via: str  # "dependencies.components" | "settings.depends_on"
    label: str  # e.g. "settings.depends_on.db"
    component: str
    stack: str | None = None
    context: tuple[tuple[str, str], ...] = ()  # legacy fields given in the entry
    description: str = ""


@dataclass(frozen=True)
class _Declarations:
    entries: tuple[_Entry, ...]
    files: tuple[str, ...]
    folders: tuple[str, ...]
    warnings: tuple[str, ...]  # without the instance prefix


class DependencyReader:
    """Parses dependency declarations, caching by the identity of the (shared) sections."""

    def __init__(self, refs: InstanceRefs | None = None) -> None:
        self.refs = refs if refs is not None else InstanceRefs()
        self._cache: dict[tuple[int, int, int], tuple[tuple[Any, ...], _Declarations]] = {}

    def declared(
        self,
        *,
        stack: str,
        dependencies: dict[str, Any],
        settings: dict[str, Any],
        component_depends_on: Any,
        own_vars: dict[str, Any],
        where: str,
    ) -> DeclaredDependencies:
        """The edges and watched paths of one instance (new lists each time); `where` names it in errors."""
        legacy = settings.get("depends_on")
        sources = (dependencies, legacy, component_depends_on)
        key = (id(dependencies), id(legacy), id(component_depends_on))
        cached = self._cache.get(key)
        same = cached is not None and all(map(operator.is_, cached[0], sources))
        if same:
            declarations = cached[1]  # type: ignore[index]
        else:
            declarations = _parse(dependencies, legacy, component_depends_on, where)
            self._cache[key] = (sources, declarations)  # holding the sources keeps their ids unique
        out = DeclaredDependencies(
            files=list(declarations.files),
            folders=list(declarations.folders),
            warnings=[f"{where}: {w}" for w in declarations.warnings] if declarations.warnings else [],
        )
        for entry in declarations.entries:
            if entry.stack and entry.via == "settings.depends_on":
                parent = self.refs.get(entry.stack, entry.component)
                out.dependencies.append(Dependency(
                    parent, entry.via, entry=entry.label, context=_wanted(entry.context, own_vars)  # type: ignore[arg-type]
                ))
                continue
            if entry.stack or not entry.context:
                parent = self.refs.get(entry.stack or stack, entry.component)
                out.dependencies.append(Dependency(parent, entry.via, entry=entry.label))  # type: ignore[arg-type]
                continue
            wanted = _wanted(entry.context, own_vars)
            out.legacy.append(LegacyMatch(entry.component, wanted, f"{entry.label} {entry.description}"))
        return out


def _wanted(given_pairs: tuple[tuple[str, str], ...], own_vars: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The parent's context a legacy entry asks for: its own fields, else the dependent's
    (Atmos `matchLegacyContextFields`)."""
    given = dict(given_pairs)
    return tuple((k, given.get(k) or context_value(own_vars.get(k))) for k in LEGACY_CONTEXT)


def _parse(dependencies: dict[str, Any], legacy: Any, component_depends_on: Any, where: str) -> _Declarations:
    entries: list[_Entry] = []
    warnings: list[str] = []
    new_components = dependencies.get("components")
    if new_components is not None and not isinstance(new_components, list):
        raise ConfigError(f"{where}: 'dependencies.components' must be a list")
    files: list[str] = []
    folders: list[str] = []
    for index, raw in enumerate(new_components or []):
        label = f"dependencies.components[{index}]"
        kind, target = _current_entry(raw, label, where)
        if kind == "terraform":
            name, target_stack = target
            entries.append(_Entry("dependencies.components", label, name, target_stack))
        elif kind == "file":
            files.append(_path(target, label, where))
        elif kind == "folder":
            folders.append(_path(target, label, where))
        else:
            warnings.append(f"{label} is a {kind} dependency; stackflow only orders terraform")
    files += [
        _path(p, "dependencies.files", where)
        for p in _string_list(dependencies.get("files"), "dependencies.files", where)
    ]
    folders += [
        _path(p, "dependencies.folders", where)
        for p in _string_list(dependencies.get("folders"), "dependencies.folders", where)
    ]

    source = "settings.depends_on"
    if not legacy and component_depends_on:
        legacy, source = component_depends_on, "depends_on"
    uses_current = bool(entries)
    legacy_files: list[str] = []
    legacy_folders: list[str] = []
    ignored = False
    for label, raw in _legacy_entries(legacy, source, where):
        if raw.get("file") is not None:
            legacy_files.append(_path(raw["file"], f"{label}.file", where))
        if raw.get("folder") is not None:
            legacy_folders.append(_path(raw["folder"], f"{label}.folder", where))
        name = raw.get("component")
        if name is None:
            if raw.get("file") is None and raw.get("folder") is None:
                raise ConfigError(f"{where}: {label} needs 'component' (or 'file' / 'folder')")
            continue
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: {label}.component must be a component name")
        if uses_current:
            ignored = True
            continue
        target_stack = raw.get("stack")
        if target_stack is not None and (not isinstance(target_stack, str) or not target_stack):
            raise ConfigError(f"{where}: {label}.stack must be a stack name")
        given = tuple((k, context_value(raw[k])) for k in LEGACY_CONTEXT if raw.get(k) not in (None, ""))
        entries.append(_Entry("settings.depends_on", label, name, target_stack, given, _describe(raw)))
    if ignored:
        warnings.append(f"{source} is ignored because dependencies.components is set (as Atmos does)")
    if not files and not folders:
        files, folders = legacy_files, legacy_folders
    return _Declarations(tuple(entries), tuple(sorted(set(files))), tuple(sorted(set(folders))), tuple(warnings))


def _current_entry(entry: Any, label: str, where: str) -> tuple[str, Any]:
    if isinstance(entry, str) and entry:
        return "terraform", (entry, None)
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: {label} must be a mapping with 'name'")
    unknown = sorted(set(entry) - {"name", "component", "stack", "kind", "path"})
    if unknown:
        legacy = [k for k in unknown if k in LEGACY_CONTEXT]
        hint = (
            " (namespace/tenant/environment/stage are not supported here: use 'stack', "
            "e.g. stack: \"{{ .vars.tenant }}-{{ .vars.environment }}-prod\")"
            if legacy
            else ""
        )
        raise ConfigError(f"{where}: {label}.{unknown[0]} is not a dependency field{hint}")
    kind = entry.get("kind") or "terraform"
    if kind in ("file", "folder"):
        path = entry.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{where}: {label} of kind {kind} needs a 'path'")
        return kind, path
    name, legacy_name = entry.get("name"), entry.get("component")
    if name and legacy_name and name != legacy_name:
        raise ConfigError(f"{where}: {label} sets both name {name!r} and component {legacy_name!r}")
    name = name or legacy_name
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {label} needs 'name' (the component it depends on)")
    stack = entry.get("stack")
    if stack is not None and (not isinstance(stack, str) or not stack):
        raise ConfigError(f"{where}: {label}.stack must be a stack name")
    return str(kind), (name, stack or None)


def _legacy_entries(value: Any, source: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    if not value:
        return []
    if isinstance(value, dict):
        items = [(f"{source}.{key}", entry) for key, entry in value.items()]
    elif isinstance(value, list):
        items = [(f"{source}[{index}]", entry) for index, entry in enumerate(value)]
    else:
        raise ConfigError(f"{where}: '{source}' must be a mapping or a list")
    out = []
    for label, entry in items:
        if isinstance(entry, str) and entry:
            entry = {"component": entry}
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {label} must be a mapping with 'component'")
        unknown = sorted(set(entry) - {"component", "stack", "file", "folder", *LEGACY_CONTEXT})
        if unknown:
            raise ConfigError(f"{where}: {label}.{unknown[0]} is not a depends_on field")
        out.append((label, entry))
    return out


def _string_list(value: Any, label: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: '{label}' must be a list of paths")
    return value


def _path(value: Any, label: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: {label} must be a path")
    try:
        path = normalize_relpath(value.rstrip("/"), what=label)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return posixpath.normpath(path) if path else ""


def _describe(entry: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {entry[k]}" for k in ("component", *LEGACY_CONTEXT) if entry.get(k)) + "}"
