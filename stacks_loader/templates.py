"""The small subset of Go templates the loader renders, refusing everything else.

Supported inside `{{ }}`: a field path (`.vars.stage`, `.stack`, `.flavor`), a string literal
(`"x"` or a raw `` `x` ``, used to escape braces), and `printf "fmt" args…` with `%s`/`%v`/`%d`.
Anything else (`if`, pipes, other functions) is a `TemplateError`, never passed through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_FIELD = re.compile(r"\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_SPACE = " \t\r\n"  # what Go's trim markers (`{{- `, ` -}}`) remove
_SPACE_CHARS = frozenset(_SPACE)
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
    for action in _actions(text):
        chunk = text[pos : action.start]
        if trim_next:
            chunk = chunk.lstrip(_SPACE)
        if action.trim_left:
            chunk = chunk.rstrip(_SPACE)
        out.append(chunk)
        if action.body is not None:  # a `{{/* comment */}}` renders to nothing
            try:
                out.append(_evaluate(action.body.strip(_SPACE), data, scalar))
            except _Missing:
                if not keep_missing:
                    raise
                out.append(text[action.start : action.end])
        trim_next = action.trim_right
        pos = action.end
    tail = text[pos:]
    if trim_next:
        tail = tail.lstrip(_SPACE)
    out.append(tail)
    return "".join(out)


@dataclass(frozen=True)
class _Action:
    start: int  # offset of `{{`
    end: int  # offset just past `}}`
    body: str | None  # text between the delimiters and trim markers; None for a comment
    trim_left: bool
    trim_right: bool


def _actions(text: str) -> Iterator[_Action]:
    """The `{{ … }}` actions in `text`, lexed as Go's text/template does.

    An action ends at the first `}}` outside a quoted (`"…"`), raw (`` `…` ``) or character
    (`'…'`) literal, so `{{`{{ .x }}`}}` is one action whose value is the literal `{{ .x }}`.
    """
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        action = _action_at(text, start)
        yield action
        pos = action.end


def _action_at(text: str, start: int) -> _Action:
    i = start + 2
    trim_left = text.startswith("-", i) and text[i + 1 : i + 2] in _SPACE_CHARS
    if trim_left:
        i += 2
    if text.startswith("/*", i):
        close = text.find("*/", i + 2)
        if close < 0:
            raise TemplateError(f"unclosed comment in template action {_excerpt(text, start)}")
        end, trim_right = _right_delim(text, close + 2)
        if end < 0:
            raise TemplateError(f"comment ends before closing delimiter in {_excerpt(text, start)}")
        return _Action(start, end, None, trim_left, trim_right)
    body_start = i
    while i < len(text):
        if text[i] in "\"`'":
            i = _skip_literal(text, i, start)
            continue
        end, trim_right = _right_delim(text, i)
        if end >= 0:
            return _Action(start, end, text[body_start:i], trim_left, trim_right)
        i += 1
    raise TemplateError(f"unclosed template action {_excerpt(text, start)}")


def _right_delim(text: str, i: int) -> tuple[int, bool]:
    """(offset past `}}` or ` -}}` at `i`, whether it trims), or (-1, False) if none is there."""
    if text.startswith("}}", i):
        return i + 2, False
    if text[i : i + 1] in _SPACE_CHARS and text.startswith("-}}", i + 1):
        return i + 4, True
    return -1, False


def _skip_literal(text: str, i: int, start: int) -> int:
    """The offset just past the quoted, raw or character literal opening at `i`."""
    quote = text[i]
    j = i + 1
    while j < len(text):
        char = text[j]
        if char == quote:
            return j + 1
        if quote != "`" and char == "\\":
            j += 2
            continue
        if quote != "`" and char == "\n":
            break
        j += 1
    kind = {'"': "quoted string", "`": "raw quoted string", "'": "character constant"}[quote]
    raise TemplateError(f"unterminated {kind} in template action {_excerpt(text, start)}")


def _excerpt(text: str, start: int) -> str:
    snippet = text[start : start + 40].split("\n")[0]
    return repr(snippet + ("…" if len(snippet) < len(text) - start else ""))


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
            if path == ".locals" or path.startswith(".locals."):
                # not "missing": Atmos' file-scoped `locals` are not resolved at all, so deferring
                # the template (keep_missing) would never help
                raise TemplateError(f"template value '{path}': stackflow does not resolve Atmos' `locals` "
                                    "(file-scoped template variables); use vars")
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
    """Split an action's body into literals and words, as Go's lexer does (quotes hold spaces)."""
    tokens: list[str] = []
    i = 0
    while i < len(expr):
        if expr[i] in _SPACE:
            i += 1
            continue
        start = i
        if expr[i] in "\"`'":
            i = _skip_literal(expr, i, start)
        else:
            while i < len(expr) and expr[i] not in _SPACE and expr[i] not in "\"`'":
                i += 1
        tokens.append(expr[start:i])
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
