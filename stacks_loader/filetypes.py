"""Files read by `!include`, parsed by their extension as Atmos' `pkg/filetype` does.

`.json` → JSON, `.yaml`/`.yml` → YAML (read by the manifest reader), `.hcl`/`.tf`/`.tfvars` →
the file's top-level attributes, `.env` (also `x.env` and `.env.*`) → a dotenv map of strings;
anything else (`.txt`, no extension) is the raw text.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

_KNOWN_BARE = (".json", ".yaml", ".yml", ".hcl", ".tf", ".tfvars", ".env", ".txt", ".md")


class FileTypeError(ValueError):
    """An included file that does not parse as its extension says; the caller adds the file."""


def include_extension(path: str) -> str:
    """The lower-case extension Atmos parses `path` by (`GetFileExtension`): `.env.local` → `.env`."""
    name = posixpath.basename(path)
    lower = name.lower()
    if lower.startswith(".env."):
        return ".env"
    dot = name.rfind(".")
    if dot < 0 or dot == len(name) - 1:
        return ""
    if dot == 0:  # the extension is the whole name: `.json` is JSON, `.gitignore` is text
        return lower if lower in _KNOWN_BARE else ""
    return lower[dot:]


def parse_json(text: str) -> Any:
    """JSON; Atmos reads numbers as float64 and writes them back through YAML, so `1.0` is `1`."""
    try:
        return json.loads(text, parse_float=_json_float)
    except ValueError as exc:
        raise FileTypeError(f"invalid JSON: {exc}") from None


def _json_float(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**63 else value


# HCL -------------------------------------------------------------------------------------------

_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][\w-]*)\r?\n(.*)\Z", re.S)
_HCL_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def parse_hcl_attributes(text: str) -> dict[str, Any]:
    """The top-level attributes of an HCL file as plain values, as Atmos' `parseHCL` gives them.

    Atmos evaluates each attribute with no variables and no functions (as Terraform reads a
    `.tfvars`), so a block, a variable reference or an interpolation is an error there; it is one
    here too. Strings lose their quotes and escapes (python-hcl2 keeps both).
    """
    try:
        import hcl2

        options = hcl2.SerializationOptions(with_comments=False, preserve_scientific_notation=False)
        body = hcl2.loads(text, serialization_options=options)
    except Exception as exc:  # python-hcl2 raises lark errors of many kinds
        raise FileTypeError(f"invalid HCL: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    result: dict[str, Any] = {}
    for name, value in body.items():
        if _is_block(value):
            raise FileTypeError(f"unexpected {name!r} block; only attributes are allowed (as in Atmos)")
        result[name] = _hcl_value(value, name)
    return result


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and _has_block_marker(item) for item in value)
    )


def _has_block_marker(item: Mapping[str, Any]) -> bool:
    if item.get("__is_block__"):
        return True
    return any(isinstance(v, dict) and _has_block_marker(v) for v in item.values())


def _hcl_value(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _hcl_string(value, where)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        # Whole numbers as ints, like Atmos. Atmos' ctyToGo also truncates 1.5 to 1 (`Int64()` of
        # every number): that loses the user's value silently, so stackflow keeps 1.5
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_hcl_value(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {
            _hcl_string(key, where) if key.startswith('"') else key: _hcl_value(item, f"{where}.{key}")
            for key, item in value.items()
            if key != "__is_block__"
        }
    return value


def _hcl_string(value: str, where: str) -> str:
    """The value of a python-hcl2 string: `"…"` is a quoted template, `${…}` an expression."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        body = value[1:-1]
        heredoc = _HEREDOC.match(body)
        if heredoc:
            return _template_literal(_heredoc_text(heredoc), where)
        return _template_literal(_unescape(body), where)
    raise FileTypeError(
        f"'{where}' is an expression ({value[2:-1] if value.startswith('${') else value}); "
        "Atmos reads included HCL without variables or functions, and stackflow evaluates no HCL expressions"
    )


def _heredoc_text(match: re.Match[str]) -> str:
    flush, marker, rest = match.groups()
    lines = rest.split("\n")
    if lines and lines[-1].strip() == marker:
        lines = lines[:-1]
    if flush:  # `<<-`: remove the smallest indentation of the non-blank lines
        indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
        cut = min(indents, default=0)
        lines = [line[cut:] for line in lines]
    return "".join(line + "\n" for line in lines)


def _unescape(body: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        if code:
            return chr(int(code, 16))
        return _SIMPLE_ESCAPES.get(match.group(3), match.group(0))

    return _HCL_ESCAPE.sub(replace, body)


def _template_literal(text: str, where: str) -> str:
    """`$${` and `%%{` are escapes; a real `${…}` or `%{…}` is a template Atmos cannot evaluate."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(("$${", "%%{"), i):
            out.append(text[i + 1 : i + 3])
            i += 3
        elif text.startswith(("${", "%{"), i):
            raise FileTypeError(
                f"'{where}' has an interpolation ({text!r}); Atmos reads included HCL without variables "
                "or functions, as Terraform reads a .tfvars file"
            )
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# dotenv ----------------------------------------------------------------------------------------

_DOTENV_SPACE = "\t\v\f\r \x85\xa0"  # godotenv's isSpace: blanks, but not the line break
_EXPAND = re.compile(r"(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?")


def parse_dotenv(text: str, environ: Mapping[str, str]) -> dict[str, str]:
    """A `.env` file as godotenv's `Parse` reads it (the parser Atmos uses).

    `KEY=value`, `export KEY=value` and `KEY: value`; `#` comments; single quotes are literal;
    double quotes expand `\\n`; unquoted and double-quoted values expand `$VAR`/`${VAR}` from
    earlier keys, then from `environ` (godotenv reads the process environment).
    """
    src = text.replace("---\n", "\n").replace("\r\n", "\n")
    out: dict[str, str] = {}
    pos = 0
    while True:
        pos = _statement_start(src, pos)
        if pos < 0:
            return out
        key, pos = _key_name(src, pos)
        value, pos = _value(src, pos, out, environ)
        out[key] = value


def _statement_start(src: str, pos: int) -> int:
    while True:
        while pos < len(src) and src[pos].isspace():
            pos += 1
        if pos >= len(src):
            return -1
        if src[pos] != "#":
            return pos
        newline = src.find("\n", pos)
        if newline < 0:
            return -1
        pos = newline


def _key_name(src: str, pos: int) -> tuple[str, int]:
    while pos < len(src) and src[pos] in _DOTENV_SPACE:
        pos += 1
    if src.startswith("export", pos) and src[pos + 6 : pos + 7] in tuple(_DOTENV_SPACE):
        pos += 6
        while pos < len(src) and src[pos] in _DOTENV_SPACE:
            pos += 1
    key, offset = "", pos
    for i in range(pos, len(src)):
        char = src[i]
        if char in _DOTENV_SPACE:
            continue
        if char in "=:":
            key, offset = src[pos:i], i + 1
            break
        if not (char == "_" or char == "." or char.isalpha() or char.isdigit()):
            line = src[pos:].split("\n")[0]
            raise FileTypeError(f"unexpected character {char!r} in variable name near {line!r}")
    key = key.rstrip()
    while offset < len(src) and src[offset] in _DOTENV_SPACE:
        offset += 1
    return key, offset


def _value(src: str, pos: int, known: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, int]:
    quote = src[pos] if pos < len(src) and src[pos] in "'\"" else ""
    if not quote:
        ends = [i for i in (src.find("\n", pos), src.find("\r", pos)) if i >= 0]
        end = min(ends) if ends else len(src)
        line = src[pos:end]
        for i in range(len(line) - 1, 0, -1):  # ` # comment` at the end of the line
            if line[i] == "#" and line[i - 1] in _DOTENV_SPACE:
                line = line[:i]
                break
        return _expand(line.strip(_DOTENV_SPACE), known, environ), end
    for i in range(pos + 1, len(src)):
        if src[i] == quote and src[i - 1] != "\\":
            value = src[pos:i].strip(quote)
            if quote == '"':
                value = _expand(_expand_escapes(value), known, environ)
            return value, i + 1
    line = src[pos:].split("\n")[0]
    raise FileTypeError(f"unterminated quoted value {line}")


def _expand_escapes(value: str) -> str:
    value = re.sub(r"\\.", lambda m: {"n": "\n", "r": "\r"}.get(m.group(0)[1], m.group(0)), value, flags=re.S)
    return re.sub(r"\\([^$])", r"\1", value)


def _expand(value: str, known: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        # godotenv compares the `$` group with "(", never true: `$(…)` is kept as written
        if match.group(1) == "\\":
            return match.group(0)[1:]
        name = match.group(4)
        if name:
            if name in known:
                return known[name]
            return environ.get(name, "")
        return match.group(0)

    return _EXPAND.sub(replace, value)
