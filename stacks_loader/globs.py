"""Glob patterns as Atmos (doublestar) reads them: `*`, `?`, `[...]`, `{a,b}` and `**` segments."""

from __future__ import annotations

import re
from functools import lru_cache

from stackflow.errors import ConfigError


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[{")


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex matching whole posix paths. `**` as a full segment spans zero or more folders."""
    out: list[str] = []
    i, n = 0, len(pattern)
    depth = 0  # inside {…}
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] in "/{,") and (
                i + 2 == n or pattern[i + 2] in "/},"
            ):
                if i + 2 < n and pattern[i + 2] == "/":
                    out.append("(?:.*/)?")
                    i += 3
                else:
                    out.append(".*")
                    i += 2
                continue
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                raise ConfigError(f"glob {pattern!r}: unclosed '['")
            body = pattern[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "{":
            depth += 1
            out.append("(?:")
        elif ch == "}" and depth:
            depth -= 1
            out.append(")")
        elif ch == "," and depth:
            out.append("|")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        raise ConfigError(f"glob {pattern!r}: unclosed '{{'")
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None
