"""The small subset of Go templates the loader renders, refusing everything else.

Supported inside `{{ }}`: a field path (`.vars.stage`, `.stack`, `.flavor`), a string literal
(`"x"` or a raw `` `x` ``, used to escape braces), and `printf "fmt" args…` with `%s`/`%v`/`%d`.
Anything else (`if`, pipes, other functions) is a `TemplateError`, never passed through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_FIELD = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)')
_VERB = re.compile(r"%[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])")


class TemplateError(Exception):
    """A template the loader cannot (or will not) render; the caller adds file/stack/field."""


class _Missing(TemplateError):
    """A template reads a value that is not defined."""


def has_template(value: str) -> bool:
    return "{{" in value


def render(
    text: str,
    data: Mapping[str, Any],
    scalar: Callable[[Any], Any] | None = None,
    *,
    keep_missing: bool = False,
) -> str:
    """Render every `{{ … }}` action in `text` against `data`.

    With `keep_missing`, an action reading an undefined value is left as written (to be rendered
    later with more data), as Atmos' `ignore_missing_template_values` defers it.
    """
    out: list[str] = []
    pos = 0
    trim_next = False
    for match in _ACTION.finditer(text):
        chunk = text[pos : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        out.append(chunk)
        try:
            out.append(_evaluate(match.group(2).strip(), data, scalar))
        except _Missing:
            if not keep_missing:
                raise
            out.append(match.group(0))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = text[pos:]
    if trim_next:
        tail = tail.lstrip()
    if "{{" in tail:
        raise TemplateError(f"unclosed template action in {text!r}")
    out.append(tail)
    return "".join(out)


def template_fields(text: str) -> list[str]:
    """The field paths a template reads (`.vars.stage` → `vars.stage`), for error messages."""
    return [m.group(0)[1:] for m in re.finditer(r"\.[A-Za-z_][A-Za-z0-9_.]*", text)]


def _evaluate(expr: str, data: Mapping[str, Any], scalar: Callable[[Any], Any] | None) -> str:
    if not expr:
        raise TemplateError("empty template action '{{ }}'")
    if _FIELD.match(expr):
        return format_value(lookup(data, expr, scalar), expr)
    tokens = _tokens(expr)
    if len(tokens) == 1 and _is_literal(tokens[0]):
        return _literal(tokens[0])
    if tokens[0] == "printf" and len(tokens) >= 2 and _is_literal(tokens[1]):
        return _printf(_literal(tokens[1]), tokens[2:], data, scalar, expr)
    raise TemplateError(
        f"unsupported template '{{{{ {expr} }}}}' (only field references like '{{{{ .vars.name }}}}',"
        " string literals and printf are supported)"
    )


def lookup(data: Mapping[str, Any], path: str, scalar: Callable[[Any], Any] | None = None) -> Any:
    """`.vars.stage` in `data`; a missing key is a `TemplateError` naming the path."""
    value: Any = data
    for part in path[1:].split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            raise _Missing(f"template value '{path}' is not defined")
        if scalar is not None:
            value = scalar(value)
    return value


def format_value(value: Any, path: str) -> str:
    """Go's `%v` for scalars; maps, lists, null and values that are templates themselves are refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if "{{" in value:
            raise TemplateError(
                f"template value '{path}' is itself a template ({value!r}); nested templates are not supported"
            )
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if value is None:
        raise TemplateError(f"template value '{path}' is null")
    raise TemplateError(f"template value '{path}' is a {type(value).__name__}, not a scalar")


def _tokens(expr: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match or match.end() == pos:
            break
        tokens.append(match.group(1))
        pos = match.end()
        if not expr[pos:].strip():
            break
    return tokens


def _is_literal(token: str) -> bool:
    return len(token) >= 2 and token[0] == token[-1] and token[0] in "\"`"


def _literal(token: str) -> str:
    if token[0] == "`":
        return token[1:-1]
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _printf(fmt: str, args: list[str], data: Mapping[str, Any], scalar, expr: str) -> str:
    values: list[str] = []
    for arg in args:
        if _is_literal(arg):
            values.append(_literal(arg))
        elif _FIELD.match(arg):
            values.append(format_value(lookup(data, arg, scalar), arg))
        elif re.fullmatch(r"-?\d+", arg):
            values.append(arg)
        else:
            raise TemplateError(f"unsupported printf argument {arg!r} in '{{{{ {expr} }}}}'")
    out: list[str] = []
    pos = 0
    index = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        verb = match.group(1)
        if verb == "%":
            out.append("%")
        elif verb in ("s", "v", "d"):
            if index >= len(values):
                raise TemplateError(f"printf in '{{{{ {expr} }}}}' has more verbs than arguments")
            out.append(values[index])
            index += 1
        else:
            raise TemplateError(f"printf verb '%{verb}' is not supported in '{{{{ {expr} }}}}'")
        pos = match.end()
    out.append(fmt[pos:])
    if index != len(values):
        raise TemplateError(f"printf in '{{{{ {expr} }}}}' has more arguments than verbs")
    return "".join(out)
