"""A stack manifest with its imports, deep-merged in Atmos order; `overrides` attached.

Each manifest's imports are merged first (in the order listed, globs sorted), then the manifest
itself. `overrides` (global and `terraform.overrides`) apply as Atmos' code applies them (not
the narrower file scope its docs describe): to the components of the manifest that declares
them and of everything it imports, and also to imports listed after it and to the components
of the manifests importing it; an importing manifest's own overrides win.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig
from .globs import compile_glob, is_glob
from .locals import FileScope
from .manifests import Manifest, ManifestReader, Markers
from .merge import merge, merge_all
from .schema import check_manifest
from .source import normalize_relpath
from .templates import TemplateError, render
from .yaml_functions import settle

_EXTENSIONS = (".yaml", ".yml", ".yaml.tmpl", ".yml.tmpl")
_REMOTE_PREFIXES = ("http://", "https://", "git::", "s3::", "gcs::", "github.com/", "git@", "oci://")


@dataclass(frozen=True)
class ImportSpec:
    path: str
    context: dict[str, Any]
    skip_templates_processing: bool = False
    ignore_missing_template_values: bool = False
    skip_if_missing: bool = False


@dataclass(frozen=True)
class Visit:
    """One manifest as merged into a stack (for provenance): the file, its data, who imported it."""

    path: str  # relative to the stacks base path
    data: dict[str, Any]
    ancestors: tuple[str, ...]


@dataclass(frozen=True)
class MergedManifest:
    """A manifest and all its imports, deep-merged."""

    path: str  # relative to the stacks base path
    config: dict[str, Any]
    files: tuple[str, ...]  # every manifest merged in, in merge order (may repeat)
    markers: Markers  # what the merged files hold that must be resolved per instance
    # the `overrides` handed back to the importer (Atmos' TerraformOverridesInline/Imports)
    overrides_inline: dict[str, Any] = field(default_factory=dict)
    overrides_imported: dict[str, Any] = field(default_factory=dict)


class StackImporter:
    """Resolves imports against the files under the stacks base path; caches merged results."""

    def __init__(
        self,
        reader: ManifestReader,
        atmos: AtmosConfig,
        stack_files: set[str],
        warn: Callable[[str], None],
    ) -> None:
        self.reader = reader
        self.files = FileScope(reader, atmos)  # each file read with its own `locals` applied
        self.atmos = atmos
        self.stack_files = stack_files  # relative to the stacks base path
        self.warn = warn
        self._merged: dict[tuple[str, str, str], MergedManifest] = {}
        self._checked: set[int] = set()
        self._settled: dict[Any, Any] = {}  # `settle`'s memo of containers with no `!append` list

    def merged(self, path: str) -> MergedManifest:
        """The top-level stack manifest `path` (relative to the stacks base path), fully merged."""
        return self._process(path, {}, ImportSpec(path, {}), {}, {}, ())

    def visits(self, path: str) -> list[Visit]:
        """Every manifest merged into the stack `path`, in merge order, with its importers."""
        out: list[Visit] = []
        self._walk(path, {}, ImportSpec(path, {}), (), out)
        return out

    # internals
    def read(self, path: str, context: dict[str, Any], spec: ImportSpec, importer: str) -> dict[str, Any]:
        manifest = self._read_manifest(path, context, spec, importer)
        return self._checked_data(manifest)

    def _read_manifest(
        self, path: str, context: dict[str, Any], spec: ImportSpec, importer: str
    ) -> Manifest:
        repo_path = self.atmos.stacks_path(path)
        # Rendered here only with an import context or the file's own `locals`; other `{{ … }}`
        # wait for the component (as Atmos falls back to the raw text when a `.tmpl` file has no
        # context to render).
        try:
            return self.files.read(
                repo_path,
                path,
                context,
                keep_missing=spec.ignore_missing_template_values,
                skip_templates=spec.skip_templates_processing,
            )
        except FileNotFoundError:
            where = self.atmos.stacks_path(importer) if importer else "stacks.included_paths"
            raise ConfigError(f"{where}: import {spec.path!r} not found ({repo_path})") from None

    def _checked_data(self, manifest: Manifest) -> dict[str, Any]:
        data = manifest.data
        if id(manifest) not in self._checked:
            data = check_manifest(data, manifest.path, self.warn)
            self._checked.add(id(manifest))
        return data or {}

    def _process(
        self,
        path: str,
        context: dict[str, Any],
        spec: ImportSpec,
        parent_inline: dict[str, Any],
        parent_imported: dict[str, Any],
        chain: tuple[str, ...],
    ) -> MergedManifest:
        """`path` and its imports merged, with overrides attached as Atmos' code does.

        (`processYAMLConfigFileWithContextInternal`): a file's own overrides, under its importers'
        (`parent_inline`, which win), and the overrides of every import processed before
        (`parent_imported`: earlier siblings, their imports, the importer's earlier imports)
        apply to the components it defines; both are handed on to its imports and back up.
        """
        flags_key = ("!" if spec.skip_templates_processing else "") + (
            "?" if spec.ignore_missing_template_values else ""
        )
        key = (path, _key(context) + flags_key, _key(parent_inline) + "|" + _key(parent_imported))
        cached = self._merged.get(key)
        if cached is not None:
            return cached
        if path in chain:
            cycle = " → ".join(self.atmos.stacks_path(p) for p in (*chain[chain.index(path) :], path))
            raise ConfigError(f"{self.atmos.stacks_path(chain[-1])}: import cycle: {cycle}")
        importer = chain[-1] if chain else ""
        manifest = self._read_manifest(path, context, spec, importer)
        data = self._checked_data(manifest)
        strategy = self.atmos.list_merge_strategy
        terraform = data.get("terraform") or {}
        inline = self._merge_call([data.get("overrides"), terraform.get("overrides"), parent_inline], strategy)
        imported = parent_imported

        layers: list[dict[str, Any]] = []
        files: list[str] = []
        markers = Markers()
        markers.update(manifest.markers)
        import_path_data: dict[str, Any] = {}
        specs = import_specs(data, self.atmos.stacks_path(path))
        templated_paths = any("{{" in spec.path for spec in specs)
        for child_spec in specs:
            # Atmos processes the matches of one import entry in parallel: each starts from the
            # overrides gathered before the entry; they are folded in afterwards, in order
            before = imported
            for child in self._matches(child_spec, path, import_path_data):
                child_context = merge(child_spec.context, context, strategy)
                result = self._process(child, child_context, child_spec, inline, before, (*chain, path))
                imported = self._merge_call([imported, result.overrides_imported, result.overrides_inline], strategy)
                layers.append(result.config)
                files.extend(result.files)
                markers.update(result.markers)
                if templated_paths:  # later import paths may read earlier imports' settings/vars/env
                    sections = {k: result.config[k] for k in ("settings", "vars", "env") if result.config.get(k)}
                    import_path_data = merge(import_path_data, sections, strategy)
        overrides = self._merge_call([imported, inline], strategy)
        layers.append(_with_overrides(data, overrides) if overrides else data)
        files.append(path)
        if overrides and self.reader.appends:
            markers.append = True  # the overrides may bring `!append` lists from other files
        config = self._merge_call(layers, strategy, markers.append)
        if markers.append and _several(layers):
            markers.append = False  # settled: none left
        merged = MergedManifest(path, config, tuple(files), markers, inline, imported)
        self._merged[key] = merged
        return merged

    def _merge_call(self, layers: list[Any], strategy: str, appends: bool = True) -> dict[str, Any]:
        """`merge_all(layers)` as Atmos' `MergeWithContext`: with two or more non-empty layers its
        `!append` lists are settled (appended to what lay below them, else plain lists); a lone
        layer keeps them for a later merge, as Atmos copies it untouched."""
        merged = merge_all(layers, strategy)
        if appends and self.reader.appends and _several(layers):
            merged = settle(merged, unset=False, clean=self._settled)
        return merged

    def _walk(
        self,
        path: str,
        context: dict[str, Any],
        spec: ImportSpec,
        chain: tuple[str, ...],
        out: list[Visit],
    ) -> None:
        data = self.read(path, context, spec, chain[-1] if chain else "")
        strategy = self.atmos.list_merge_strategy
        import_path_data: dict[str, Any] = {}
        specs = import_specs(data, self.atmos.stacks_path(path))
        templated_paths = any("{{" in s.path for s in specs)
        for child_spec in specs:
            for child in self._matches(child_spec, path, import_path_data):
                child_context = merge(child_spec.context, context, strategy)
                self._walk(child, child_context, child_spec, (*chain, path), out)
                if templated_paths:  # as in `_process`
                    config = self._process(child, child_context, child_spec, {}, {}, (*chain, path)).config
                    sections = {k: config[k] for k in ("settings", "vars", "env") if config.get(k)}
                    import_path_data = merge(import_path_data, sections, strategy)
        out.append(Visit(path, data, chain))

    def _matches(self, spec: ImportSpec, importer: str, path_data: dict[str, Any]) -> list[str]:
        where = self.atmos.stacks_path(importer)
        target = spec.path
        if "{{" in target and not spec.skip_templates_processing:
            try:
                target = render(target, merge(path_data, spec.context))
            except TemplateError as exc:
                raise ConfigError(f"{where}: import path {spec.path!r}: {exc}") from None
        if target.startswith(_REMOTE_PREFIXES) or "://" in target:
            raise ConfigError(f"{where}: remote import {target!r} is not supported")
        if target.startswith(("./", "../")):
            target = posixpath.join(posixpath.dirname(importer), target)
        try:
            target = normalize_relpath(target, what="import")
        except ConfigError:
            raise ConfigError(f"{where}: import {spec.path!r} points outside the repository") from None
        if target.startswith("../") or not target:
            raise ConfigError(f"{where}: import {spec.path!r} points outside the stacks base path")
        name = target.rsplit("/", 1)[-1]
        ext = name[name.rfind(".") :] if "." in name else ""  # Go's filepath.Ext, as Atmos reads it
        if ext in (".yaml", ".yml"):
            if target + ".tmpl" in self.stack_files:
                target += ".tmpl"
        elif not ext:  # any other extension (`x.tmpl`, a glob's `x-?.*`) is taken as written
            for ext in _EXTENSIONS:
                if target + ext in self.stack_files:
                    target += ext
                    break
            else:
                target += ".yaml"
        if is_glob(target):
            regex = compile_glob(target)
            matches = sorted(f for f in self.stack_files if regex.match(f))
        else:
            matches = [target] if target in self.stack_files else []
        if target == importer:
            raise ConfigError(f"{where}: the manifest imports itself via {spec.path!r}")
        if not matches and not spec.skip_if_missing:
            raise ConfigError(f"{where}: import {spec.path!r} not found in {self.atmos.stacks_base_path or '.'}/")
        return matches


def import_specs(data: dict[str, Any], where: str) -> list[ImportSpec]:
    """The `import` section: strings or `{path, context, skip_if_missing, …}` entries."""
    raw = data.get("import")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'import' must be a list")
    specs: list[ImportSpec] = []
    for index, entry in enumerate(raw):
        if isinstance(entry, str) and entry.strip():
            specs.append(ImportSpec(entry.strip(), {}))
            continue
        if isinstance(entry, dict):
            path = entry.get("path")
            context = entry.get("context") or {}
            if not isinstance(path, str) or not path.strip():
                raise ConfigError(f"{where}: 'import[{index}].path' must be a non-empty string")
            if not isinstance(context, dict):
                raise ConfigError(f"{where}: 'import[{index}].context' must be a mapping")
            flags = {}
            for flag in ("skip_templates_processing", "ignore_missing_template_values", "skip_if_missing"):
                value = entry.get(flag, False)
                if not isinstance(value, bool):
                    raise ConfigError(f"{where}: 'import[{index}].{flag}' must be true or false")
                flags[flag] = value
            unknown = sorted(set(entry) - {"path", "context", *flags})
            if unknown:
                raise ConfigError(f"{where}: 'import[{index}].{unknown[0]}' is not supported")
            specs.append(ImportSpec(path.strip(), context, **flags))
            continue
        raise ConfigError(f"{where}: 'import[{index}]' must be a path or a {{path, context}} mapping")
    return specs


def _with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`data` with `overrides` set on each Terraform component it defines (replacing, as Atmos)."""
    components = data.get("components") or {}
    terraform = components.get("terraform")
    if not terraform:
        return data
    attached = {
        name: {**section, "overrides": overrides} if isinstance(section, dict) else section
        for name, section in terraform.items()
    }
    return {**data, "components": {**components, "terraform": attached}}


def _several(layers: list[Any]) -> bool:
    """Whether two or more layers are non-empty (Atmos merges only those)."""
    return sum(1 for layer in layers if layer) > 1


def _key(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str) if value else ""
