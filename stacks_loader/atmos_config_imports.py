"""`import:` in atmos.yaml: other CLI configuration files deep-merged under it, as Atmos does.

Each entry is a file, a folder (every `.yaml`/`.yml` under it) or a glob (`configs.d/**/*`),
relative to the importing file's `base_path` (its own folder by default). The imports merge in
order, a glob's files shallowest first then by path, and the importing file's own settings win.
Imported files may import again. Remote imports (`https://…`) are refused: the loader reads only
the repository. Under all of it lie the `atmos.d/` and `.atmos.d/` folders (`default_imports`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from stackflow.errors import ConfigError

from .globs import compile_glob, is_glob
from .merge import merge
from .source import SourceTree, normalize_relpath

_EXTENSIONS = (".yaml", ".yml")
MAX_DEPTH = 10  # Atmos' MaximumImportLvL


def with_imports(
    tree: SourceTree,
    config_file: str,
    raw: dict[str, Any],
    read: Callable[[str], Any],
    environ: Mapping[str, str],
    chain: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`raw` (the parsed `config_file`) over everything it imports, without the `import` key."""
    imports = raw.get("import")
    if not imports:
        return raw
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, list) or not all(isinstance(entry, str) and entry for entry in imports):
        raise ConfigError(f"{config_file}: 'import' must be a list of paths")
    if len(chain) >= MAX_DEPTH:
        raise ConfigError(f"{config_file}: atmos.yaml imports nest deeper than {MAX_DEPTH}: {' → '.join(chain)}")
    base = _import_base(tree, config_file, raw, environ)
    merged: dict[str, Any] = {}
    for entry in imports:
        for path in _resolve(tree, config_file, base, entry):
            if path == config_file or path in chain:
                raise ConfigError(f"{config_file}: import {entry!r}: import cycle through {path}")
            data = read(path)
            if data is None:
                continue
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: expected a mapping at the top level (imported by {config_file})")
            merged = merge(merged, with_imports(tree, path, data, read, environ, (*chain, config_file)))
    own = {key: value for key, value in raw.items() if key != "import"}
    return merge(merged, own)


def default_imports(tree: SourceTree, config_file: str) -> list[str]:
    """The files Atmos merges under atmos.yaml before anything else (`mergeDefaultImports`): every
    `.yaml`/`.yml` under `atmos.d/` and `.atmos.d/` at the repository root, then beside atmos.yaml
    (the later win), each folder's files shallowest first then by path."""
    folders = ["", posixpath.dirname(config_file)]
    found: list[str] = []
    for folder in dict.fromkeys(folders):
        for name in ("atmos.d", ".atmos.d"):
            path = posixpath.join(folder, name) if folder else name
            if tree.is_dir(path):
                found += _by_depth(_prefer_yaml([f for f in tree.walk_files(path) if f.endswith(_EXTENSIONS)]))
    return found


def _import_base(tree: SourceTree, config_file: str, raw: dict[str, Any], environ: Mapping[str, str]) -> str:
    if environ.get("ATMOS_BASE_PATH"):
        return normalize_relpath(environ["ATMOS_BASE_PATH"], what="ATMOS_BASE_PATH")
    declared = raw.get("base_path") or ""
    if not isinstance(declared, str):
        raise ConfigError(f"{config_file}: 'base_path' must be a string")
    joined = posixpath.join(posixpath.dirname(config_file), declared)
    return normalize_relpath(joined, what=f"{config_file}: base_path")


def _resolve(tree: SourceTree, config_file: str, base: str, entry: str) -> list[str]:
    """The files an import entry names, in merge order."""
    if "://" in entry or entry.startswith(("git::", "s3::", "github.com/")):
        raise ConfigError(f"{config_file}: import {entry!r}: remote atmos.yaml imports are not supported "
                          "(the loader reads only the repository)")
    target = entry[2:] if entry.startswith("./") else entry
    try:
        path = normalize_relpath(posixpath.join(base, target) if base else target, what=f"{config_file}: import")
    except ConfigError:
        raise ConfigError(f"{config_file}: import {entry!r} points outside the repository") from None
    if is_glob(path):
        regex = compile_glob(path)
        root = _fixed_prefix(path)
        found = [f for f in tree.walk_files(root) if f.endswith(_EXTENSIONS) and regex.match(f)]
        return _by_depth(_prefer_yaml(found))
    if tree.is_dir(path):
        return _by_depth(_prefer_yaml([f for f in tree.walk_files(path) if f.endswith(_EXTENSIONS)]))
    candidates = [path] if posixpath.splitext(path)[1] else [path + ext for ext in _EXTENSIONS]
    found = [c for c in candidates if tree.is_file(c)]
    if not found:
        raise ConfigError(f"{config_file}: import {entry!r}: no file {path}")
    return _prefer_yaml(found)


def _fixed_prefix(pattern: str) -> str:
    """The folder before the first glob segment (where to look)."""
    parts = []
    for part in pattern.split("/")[:-1]:
        if is_glob(part):
            break
        parts.append(part)
    return "/".join(parts)


def _prefer_yaml(files: list[str]) -> list[str]:
    """`x.yaml` and `x.yml` side by side: only `x.yaml` (Atmos' detectPriorityFiles)."""
    stems = {f[: -len(".yaml")] for f in files if f.endswith(".yaml")}
    return [f for f in files if not (f.endswith(".yml") and f[: -len(".yml")] in stems)]


def _by_depth(files: list[str]) -> list[str]:
    """Shallowest folder first, then by path (Atmos' sortFilesByDepth)."""
    return sorted(files, key=lambda f: (f.count("/"), f))
