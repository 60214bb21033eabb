"""Where the loader reads files from: a repository as repo-relative posix paths.

A `SourceTree` is a folder today and a git tree later (for `affected` between two commits); the
loader never touches the filesystem any other way.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from stackflow.errors import ConfigError


@runtime_checkable
class SourceTree(Protocol):
    """The files of a repository, addressed by repo-relative posix paths (`stacks/a.yaml`)."""

    def read_bytes(self, relpath: str) -> bytes:
        """The file's content; `FileNotFoundError` if it is not a file of the tree."""
        ...

    def is_file(self, relpath: str) -> bool: ...

    def is_dir(self, relpath: str) -> bool: ...

    def walk_files(self, reldir: str) -> Iterable[str]:
        """Every file below `reldir` (recursively), as repo-relative posix paths."""
        ...


def normalize_relpath(relpath: str, *, what: str = "path") -> str:
    """`a/./b/../c` → `a/c`; `""`/`.` → `""`. Absolute paths and paths leaving the repo are errors."""
    text = relpath.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise ConfigError(f"{what} {relpath!r} is absolute; it must be relative to the repository")
    norm = posixpath.normpath(text) if text else "."
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise ConfigError(f"{what} {relpath!r} points outside the repository")
    return norm


class FolderTree:
    """A `SourceTree` over a real folder. Read-only: it never writes or creates anything."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ConfigError(f"{root}: not a folder")

    def __repr__(self) -> str:
        return f"FolderTree({str(self.root)!r})"

    def _abs(self, relpath: str) -> Path:
        rel = normalize_relpath(relpath)
        return self.root / rel if rel else self.root

    def read_bytes(self, relpath: str) -> bytes:
        path = self._abs(relpath)
        try:
            return path.read_bytes()
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            raise FileNotFoundError(relpath) from exc

    def is_file(self, relpath: str) -> bool:
        try:
            return self._abs(relpath).is_file()
        except ConfigError:
            return False

    def is_dir(self, relpath: str) -> bool:
        try:
            return self._abs(relpath).is_dir()
        except ConfigError:
            return False

    def walk_files(self, reldir: str) -> Iterator[str]:
        rel = normalize_relpath(reldir)
        top = self._abs(rel)
        if not top.is_dir():
            return
        prefix_len = len(str(self.root)) + 1
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            base = dirpath[prefix_len:].replace(os.sep, "/") if dirpath != str(self.root) else ""
            for name in sorted(filenames):
                yield f"{base}/{name}" if base else name


def as_source_tree(tree: SourceTree | str | os.PathLike[str]) -> SourceTree:
    """Accept a `SourceTree` or a folder path."""
    if isinstance(tree, (str, os.PathLike)):
        return FolderTree(tree)
    return tree
