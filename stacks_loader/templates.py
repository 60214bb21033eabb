"""Go `text/template`, as Atmos renders stack manifests (`missingkey=error`), in pure Python.

Actions, pipelines, variables, `if` / `else if` / `with` / `range` (with `break`, `continue`),
trim markers and comments behave as Go's; the functions are Go's builtins and the Sprig ones in
`template_functions`. Refused with a `TemplateError`, never passed through: other functions
(Gomplate's, `atmos.Store`: they read the outside world), `define` / `template` / `block`, and a
map, list or null printed into a value.

`atmos.Component` and `atmos.Store` are parsed, but only a caller that hands `render` an
implementation (the component stage) can run them: what it gives is a `RunTimeValue`, which a template may read
fields of and give as a whole value, never print, test or pass to a function.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .template_functions import (
    FUNCTIONS,
    SUPPORTED,
    FunctionError,
    environ_functions,
    go_string,
    string_param,
    strval,
    truth,
)

_SPACE = " \t\r\n"  # what Go's trim markers (`{{- `, ` -}}`) remove
_SPACE_CHARS = frozenset(_SPACE)


class TemplateError(Exception):
    """A template the loader cannot (or will not) render; the caller adds file/stack/field."""


class RunTimeValue:
    """A value known only when the stack runs (a parent's Terraform output): a template may read
    its fields and give it whole (`render(..., whole=True)`), never print, test or transform it."""

    def field(self, name: str) -> Any:
        """What `.name` of this value reads."""
        raise TemplateError(f"can't read field {name!r} of {self.describe()}")

    def describe(self) -> str:
        return "a value known only when the stack runs"


@dataclass(frozen=True)
class Encoded(RunTimeValue):
    """A `RunTimeValue` given to one of Sprig's JSON encoders: read back as JSON (`decoded`, as
    `!template` does) it is the value itself; otherwise its JSON text, made when it is known."""

    value: RunTimeValue
    encoder: str = "toJson"
    # the encoder's arguments before the value: Gomplate's `toJSONPretty INDENT VALUE`
    encoder_args: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.encoder} of {self.value.describe()}"


@dataclass(frozen=True)
class RunTimeText:
    """A template's text with `RunTimeValue`s printed into it (`render(..., whole=True)`): the
    text is known once they are."""

    parts: tuple[Any, ...]  # str or RunTimeValue, adjacent texts joined


# Sprig's JSON encoders: what they give of a RunTimeValue is `Encoded`
_ENCODERS = frozenset({"toJson", "toRawJson", "toPrettyJson", "mustToJson", "mustToRawJson", "mustToPrettyJson",
                       "toJSON", "data.ToJSON"})
# Gomplate's encoders whose first argument is the indent (a string, as Go requires)
_INDENTED_ENCODERS = frozenset({"toJSONPretty", "data.ToJSONPretty"})

# Functions the parser accepts but `render` runs only when its caller implements them.
CONTEXT_FUNCTIONS = frozenset({"atmos.Component", "atmos.Store"})


class _Missing(TemplateError):
    """A template reads a value that is not defined."""


def render(
    text: str,
    data: Mapping[str, Any],
    scalar: Callable[[Any], Any] | None = None,
    *,
    keep_missing: bool = False,
    missing_is_nil: bool = False,
    no_value: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
    nested_ok: bool = False,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    whole: bool = False,
    decoded: bool = False,
) -> Any:
    """Render the template `text` against `data`.

    With `keep_missing`, a top-level action or block reading an undefined value is left as
    written (to be rendered later with more data), as Atmos' `ignore_missing_template_values`
    defers it. `scalar` converts each value a field step reads (an `!env` marker to its text).
    The Sprig `env` / `expandenv` functions read `environ` only; without it they are refused.

    With `missing_is_nil` (Atmos renders component sections with `missingkey=default`), an
    undefined value reads as Go's invalid value: false in `if`, null to functions (`default`
    works), equal only to null. Printing it is an error, unless `no_value` is given: then it
    prints Go's `<no value>`, as Atmos does, and `no_value` hears the path (to warn).
    A field whose value is itself a template is refused (it would print as text), unless
    `nested_ok`: a pass that another evaluation pass follows (`templates.settings.evaluations`).

    `functions` implements `CONTEXT_FUNCTIONS` (others are refused). With `whole`, a template
    that is one action alone giving a `RunTimeValue` returns that value instead of text, and one
    that prints such values into text returns a `RunTimeText`. Sprig's JSON encoders take a
    `RunTimeValue` whole and give it `Encoded` (the caller decides: the value when it reads the
    text back, its JSON text otherwise). `decoded`: the caller reads the output back as JSON.
    """
    if "{{" not in text:
        return text
    nodes = _parse(text)
    run = _Run(data, scalar, _NO_ENVIRON if environ is None else environ_functions(environ), missing_is_nil,
               no_value, nested_ok, functions, whole, decoded)
    if whole and len(nodes) == 1 and nodes[0].kind == "out" and not nodes[0].pipe.decl:  # type: ignore[union-attr]
        return run.output(run.pipe(nodes[0].pipe, data), nodes[0].pipe)  # type: ignore[arg-type]
    out: list[Any] = []
    for node in nodes:
        if not keep_missing:
            run.node(node, data, out)
            continue
        mark = len(out)
        try:
            run.node(node, data, out)
        except _Missing:
            del out[mark:]
            out.append(text[node.start : node.end])
    if run.deferred:
        return _run_time_text(out)
    return "".join(out)


def _run_time_text(out: list[Any]) -> RunTimeText:
    parts: list[Any] = []
    for part in out:
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        elif part != "":
            parts.append(part)
    return RunTimeText(tuple(parts))


def root_fields(text: str) -> list[tuple[str, ...]]:
    """The field chains `text` reads from the root of its data (`.vars.x`, `$.vars.x`), in order:
    what a caller needs to know before rendering (which locals a local reads). Inside `with` and
    `range`, where the dot is rebound, only `$.` chains read the root. A `TemplateError` if
    `text` does not parse."""
    if "{{" not in text:
        return []
    found: list[tuple[str, ...]] = []

    def pipe(p: _Pipe, at_root: bool) -> None:
        for command in p.commands:
            for operand in command:
                if operand[0] == "field" and at_root and operand[1]:
                    found.append(operand[1])
                elif operand[0] == "var" and operand[1] == "$" and operand[2]:
                    found.append(operand[2])
                elif operand[0] == "pipe":
                    pipe(operand[1], at_root)

    def nodes(items: tuple[_Node, ...], at_root: bool) -> None:
        for node in items:
            if node.kind == "out":
                pipe(node.pipe, at_root)  # type: ignore[arg-type]
            elif node.kind in ("if", "with", "range"):
                if node.kind == "range":
                    pipe(node.pipe, at_root)  # type: ignore[arg-type]
                for condition, body in node.branches:
                    if node.kind != "range":
                        pipe(condition, at_root)
                    nodes(body, at_root and node.kind == "if")
                if node.otherwise is not None:
                    nodes(node.otherwise, at_root)

    nodes(_parse(text), True)
    return found


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
        return go_string(value)  # Go's %v: 1.5, 1, 1e+06
    if value is None:
        raise TemplateError(f"template value '{path}' is null")
    if hasattr(value, "__dataclass_fields__"):  # a YAML function kept for run time (`!aws.region`, `!store …`)
        action = path if path.startswith("{{") else "{{ " + path + " }}"
        raise TemplateError(f"template value '{path}' is '{value}', known only when the stack runs: it can be "
                            f"given whole ('{action}' alone), not printed into text")
    raise TemplateError(f"template value '{path}' is a {type(value).__name__}, not a scalar")




# parsing ------------------------------------------------------------------------------------
# An operand is a tuple: ("lit", value) | ("field", names) | ("var", name, names)
# | ("func", name) | ("pipe", _Pipe, names); a command is a tuple of operands.

_KEYWORDS = frozenset({"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"})
_TOKEN = re.compile(
    r"""(?P<space>\s+)"""
    r"""|(?P<assign>:=)|(?P<punct>[|(),=])"""
    r"""|(?P<num>[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"""
    r"""|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?))"""
    r"""|(?P<field>\.[A-Za-z_][A-Za-z0-9_]*)|(?P<dot>\.)"""
    r"""|(?P<var>\$[A-Za-z0-9_]*)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<char>'(?:[^'\\\n]|\\.)+')"""
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    value: Any
    spaced: bool  # whitespace before it: `$x.a` is one operand, `$x .a` two


@dataclass(frozen=True, slots=True)
class _Pipe:
    decl: tuple[str, ...]  # variables it declares (`:=`) or assigns (`=`)
    assign: bool
    commands: tuple[tuple[tuple[Any, ...], ...], ...]
    source: str
    plain: str | None  # the path when the pipe is one field or variable reference


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # text | out | if | with | range | break | continue
    start: int
    end: int
    text: str = ""
    pipe: _Pipe | None = None
    branches: tuple[tuple[_Pipe, tuple[_Node, ...]], ...] = ()
    otherwise: tuple[_Node, ...] | None = None


@lru_cache(maxsize=4096)
def _parse(text: str) -> tuple[_Node, ...]:
    parser = _Parser(text)
    nodes, stop = parser.nodes(loop=False)
    if stop is not None:
        raise TemplateError(f"unexpected {{{{ {stop[0]} }}}} in {_excerpt(text, stop[1])}")
    return nodes


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = list(_items(text))
        self.pos = 0

    def nodes(self, *, loop: bool) -> tuple[tuple[_Node, ...], tuple[str, int, list[_Token]] | None]:
        """Nodes up to an `{{ else … }}` or `{{ end }}` (returned as the stop) or the end of text."""
        out: list[_Node] = []
        while self.pos < len(self.items):
            item = self.items[self.pos]
            self.pos += 1
            if isinstance(item, str):
                if item:
                    out.append(_Node("text", 0, 0, text=item))
                continue
            if item.body is None:
                continue
            tokens = _lex(item.body, self.text, item.start)
            if not tokens:
                raise TemplateError(f"missing value for command in {_excerpt(self.text, item.start)}")
            word = tokens[0].value if tokens[0].kind == "ident" else None
            if word in ("end", "else"):
                return tuple(out), (word, item.start, tokens[1:])
            if word in ("if", "with"):
                out.append(self.block(word, item, tokens[1:], loop))
            elif word == "range":
                out.append(self.range(item, tokens[1:]))
            elif word in ("break", "continue"):
                if not loop:
                    raise TemplateError(f"{{{{ {word} }}}} outside {{{{ range }}}} in {_excerpt(self.text, item.start)}")
                out.append(_Node(word, item.start, item.end))
            elif word in ("define", "template", "block"):
                raise TemplateError(f"{{{{ {word} }}}} (named templates) is not supported in "
                                    f"{_excerpt(self.text, item.start)}")
            else:
                out.append(_Node("out", item.start, item.end, pipe=self.pipe(tokens, self.source(item))))
        return tuple(out), None

    def block(self, word: str, item: _Action, tokens: list[_Token], loop: bool) -> _Node:
        branches: list[tuple[_Pipe, tuple[_Node, ...]]] = []
        otherwise: tuple[_Node, ...] | None = None
        while True:
            condition = self.pipe(tokens, self.source(item))
            body, stop = self.nodes(loop=loop)
            branches.append((condition, body))
            if stop is None:
                raise TemplateError(f"unclosed {{{{ {word} }}}}: no {{{{ end }}}} for {_excerpt(self.text, item.start)}")
            kind, at, rest = stop
            if kind == "end":
                break
            if rest and rest[0].kind == "ident" and rest[0].value == word:  # `else if` / `else with`
                tokens = rest[1:]
                continue
            if rest:
                raise TemplateError(f"unexpected {{{{ else {rest[0].value} }}}} in {_excerpt(self.text, at)}")
            otherwise, stop = self.nodes(loop=loop)
            if stop is None or stop[0] != "end":
                raise TemplateError(f"unclosed {{{{ {word} }}}}: no {{{{ end }}}} for {_excerpt(self.text, item.start)}")
            break
        return _Node(word, item.start, self._end(), branches=tuple(branches), otherwise=otherwise)

    def range(self, item: _Action, tokens: list[_Token]) -> _Node:
        pipe = self.pipe(tokens, self.source(item), range_decl=True)
        body, stop = self.nodes(loop=True)
        otherwise = None
        if stop is not None and stop[0] == "else" and not stop[2]:
            otherwise, stop = self.nodes(loop=False)
        if stop is None or stop[0] != "end" or stop[2]:
            raise TemplateError(f"unclosed {{{{ range }}}}: no {{{{ end }}}} for {_excerpt(self.text, item.start)}")
        return _Node("range", item.start, self._end(), pipe=pipe, branches=((pipe, body),), otherwise=otherwise)

    def source(self, item: _Action) -> str:
        return self.text[item.start : item.end]

    def _end(self) -> int:
        return self.items[self.pos - 1].end  # the `{{ end }}` just consumed

    def pipe(self, tokens: list[_Token], source: str, *, allow_decl: bool = True,
             range_decl: bool = False) -> _Pipe:
        where = repr(source)
        decl: tuple[str, ...] = ()
        assign = False
        i = 0
        if tokens and tokens[0].kind == "var":
            names, j = [tokens[0].value], 1
            if range_decl and j + 1 < len(tokens) and tokens[j].kind == "," and tokens[j + 1].kind == "var":
                names.append(tokens[j + 1].value)
                j += 2
            if j < len(tokens) and tokens[j].kind in (":=", "="):
                decl, assign, i = tuple(names), tokens[j].kind == "=", j + 1
                if not allow_decl:
                    raise TemplateError(f"a variable declaration is not allowed inside ( ) in {where}")
        if i >= len(tokens):
            raise TemplateError(f"missing value in {where}")
        commands: list[tuple[tuple[Any, ...], ...]] = []
        while True:
            command, i = self.command(tokens, i, where)
            commands.append(command)
            if i >= len(tokens):
                break
            if tokens[i].kind == "|":
                i += 1
                continue
            raise TemplateError(f"unexpected {tokens[i].value!r} in {where}")
        plain = None
        if len(commands) == 1 and len(commands[0]) == 1 and not decl:
            operand = commands[0][0]
            if operand[0] == "field":
                plain = "." + ".".join(operand[1])
            elif operand[0] == "var":
                plain = operand[1] + "".join("." + n for n in operand[2])
        return _Pipe(decl, assign, tuple(commands), " ".join(source.split()), plain)  # one line, for messages

    def command(self, tokens: list[_Token], i: int, where: str) -> tuple[tuple[tuple[Any, ...], ...], int]:
        operands: list[tuple[Any, ...]] = []
        while i < len(tokens) and tokens[i].kind not in ("|", ")"):
            operand, i = self.operand(tokens, i, where)
            operands.append(operand)
        if not operands:
            raise TemplateError(f"missing command in {where}")
        return tuple(operands), i

    def operand(self, tokens: list[_Token], i: int, where: str) -> tuple[tuple[Any, ...], int]:
        token = tokens[i]
        i += 1
        kind = token.kind
        if kind == "lit":
            operand: tuple[Any, ...] = ("lit", token.value)
        elif kind == "field":
            names = [token.value]
            while i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
                names.append(tokens[i].value)
                i += 1
            return ("field", tuple(names)), i
        elif kind == "dot":
            operand = ("field", ())
        elif kind == "var":
            operand = ("var", token.value, ())
        elif kind == "ident":
            name = token.value
            if name in ("true", "false"):
                operand = ("lit", name == "true")
            elif name == "nil":
                operand = ("lit", None)
            elif name in _KEYWORDS:
                raise TemplateError(f"unexpected keyword {name!r} in {where}")
            elif i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
                qualified = f"{name}.{tokens[i].value}"
                if qualified not in SUPPORTED and qualified not in CONTEXT_FUNCTIONS:
                    raise TemplateError(f"function {qualified} is not supported in {where} (Go builtins, Sprig "
                                        "and Gomplate's strings functions are; those reading the outside world, "
                                        "such as atmos.Component, atmos.Store or datasources, are not)")
                return ("func", qualified), i + 1
            elif name not in SUPPORTED:
                raise TemplateError(f"function {name!r} is not supported in {where} "
                                    "(Go builtins and Sprig functions are)")
            else:
                operand = ("func", name)
        elif kind == "(":
            depth, j = 1, i
            while j < len(tokens) and depth:
                depth += {"(": 1, ")": -1}.get(tokens[j].kind, 0)
                j += 1
            if depth:
                raise TemplateError(f"unclosed '(' in {where}")
            inner = tokens[i : j - 1]
            if not inner:
                raise TemplateError(f"empty '( )' in {where}")
            operand, i = ("pipe", self.pipe(inner, where[1:-1], allow_decl=False), ()), j
        else:
            raise TemplateError(f"unexpected {token.value!r} in {where}")
        names = []
        while i < len(tokens) and tokens[i].kind == "field" and not tokens[i].spaced:
            names.append(tokens[i].value)
            i += 1
        if names:
            if operand[0] == "var":
                operand = ("var", operand[1], tuple(names))
            elif operand[0] == "pipe":
                operand = ("pipe", operand[1], tuple(names))
            else:
                raise TemplateError(f"can't read field .{names[0]} of {token.value!r} in {where}")
        return operand, i


def _items(text: str) -> Iterator[str | _Action]:
    """Text chunks (trim markers applied) and actions, in order."""
    pos = 0
    trim_next = False
    for action in _actions(text):
        chunk = text[pos : action.start]
        if trim_next:
            chunk = chunk.lstrip(_SPACE)
        if action.trim_left:
            chunk = chunk.rstrip(_SPACE)
        yield chunk
        yield action
        trim_next = action.trim_right
        pos = action.end
    tail = text[pos:]
    yield tail.lstrip(_SPACE) if trim_next else tail


def _lex(body: str, text: str, start: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    spaced = True
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None:
            raise TemplateError(f"unexpected {body[pos]!r} in template action {_excerpt(text, start)}")
        pos = match.end()
        kind = match.lastgroup
        raw = match.group()
        if kind == "space":
            spaced = True
            continue
        if kind in ("assign", "punct"):
            tokens.append(_Token(raw, raw, spaced))
        elif kind == "field":
            tokens.append(_Token("field", raw[1:], spaced))
        elif kind == "num":
            tokens.append(_Token("lit", _number(raw, text, start), spaced))
        elif kind == "str":
            tokens.append(_Token("lit", _unquote(raw, text, start), spaced))
        elif kind == "raw":
            tokens.append(_Token("lit", raw[1:-1], spaced))
        elif kind == "char":
            value = _unquote(raw, text, start)
            if len(value) != 1:
                raise TemplateError(f"malformed character constant {raw} in {_excerpt(text, start)}")
            tokens.append(_Token("lit", ord(value), spaced))
        else:  # dot, var, ident
            tokens.append(_Token(kind, raw, spaced))
        spaced = False
    return tokens


def _number(raw: str, text: str, start: int) -> int | float:
    clean = raw.replace("_", "")
    try:
        if re.fullmatch(r"[+-]?0[xXbBoO].*", clean):
            return int(clean, 0)
        if re.fullmatch(r"[+-]?0\d+", clean):
            return int(clean, 8)  # Go reads a leading zero as octal
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        return float(clean)
    except ValueError:
        raise TemplateError(f"bad number syntax {raw!r} in {_excerpt(text, start)}") from None


def _unquote(raw: str, text: str, start: int) -> str:
    try:
        value = ast.literal_eval(raw if raw[0] == '"' else '"' + raw[1:-1].replace('"', '\\"') + '"')
    except (ValueError, SyntaxError):
        raise TemplateError(f"bad escape in {raw} in {_excerpt(text, start)}") from None
    return value


# evaluation ---------------------------------------------------------------------------------

_NONE = object()  # no piped value


class _Absent:
    """An undefined value read with `missing_is_nil`: Go's invalid `reflect.Value`."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __bool__(self) -> bool:
        return False
_NO_ENVIRON = environ_functions(None)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Run:
    def __init__(self, root: Mapping[str, Any], scalar: Callable[[Any], Any] | None,
                 environ_funcs: dict[str, Callable[..., Any]], missing_is_nil: bool = False,
                 no_value: Callable[[str], None] | None = None, nested_ok: bool = False,
                 functions: Mapping[str, Callable[..., Any]] | None = None, whole: bool = False,
                 decoded: bool = False) -> None:
        self.functions = functions or {}
        self.decoded = decoded  # the output is read back as JSON: `toJson` of a RunTimeValue is the value
        self.whole = whole  # a RunTimeValue may be printed (kept as is in the output)
        self.deferred = False  # one was
        self.nested_ok = nested_ok
        self.root = root
        self.missing_is_nil = missing_is_nil
        self.no_value = no_value
        self.scalar = scalar
        self.environ_funcs = environ_funcs
        self.vars: list[list[Any]] = [["$", root]]

    def node(self, node: _Node, dot: Any, out: list[str]) -> None:
        kind = node.kind
        if kind == "text":
            out.append(node.text)
        elif kind == "out":
            pipe = node.pipe
            value = self.pipe(pipe, dot)  # type: ignore[arg-type]
            if not pipe.decl:  # type: ignore[union-attr]
                out.append(self.output(value, pipe))  # type: ignore[arg-type]
        elif kind in ("if", "with"):
            mark = len(self.vars)
            try:
                for condition, body in node.branches:
                    value = self.pipe(condition, dot)
                    if isinstance(value, RunTimeValue):
                        raise TemplateError(f"{kind} cannot test {value.describe()} in {condition.source!r}: "
                                            "it is known only when the stack runs")
                    if truth(value):
                        self.nodes(body, value if kind == "with" else dot, out)
                        return
                if node.otherwise is not None:
                    self.nodes(node.otherwise, dot, out)
            finally:
                del self.vars[mark:]
        elif kind == "range":
            self.range(node, dot, out)
        elif kind == "break":
            raise _Break
        else:
            raise _Continue

    def nodes(self, nodes: tuple[_Node, ...], dot: Any, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            for node in nodes:
                self.node(node, dot, out)
        finally:
            del self.vars[mark:]

    def range(self, node: _Node, dot: Any, out: list[str]) -> None:
        pipe = node.pipe
        assert pipe is not None
        value = self.pipe(_Pipe((), False, pipe.commands, pipe.source, pipe.plain), dot)
        if isinstance(value, RunTimeValue):
            raise TemplateError(f"range cannot iterate over {value.describe()} in {pipe.source!r}: it is known "
                                "only when the stack runs")
        if isinstance(value, Mapping):
            items = [(k, value[k]) for k in sorted(value, key=strval)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(pipe.decl) > 1:
                raise TemplateError(f"can't use two variables to range over an integer in {pipe.source!r}")
            items = [(i, i) for i in range(value)]
        elif value is None or isinstance(value, _Absent):
            items = []
        else:
            raise TemplateError(f"range can't iterate over {strval(value)!r} in {pipe.source!r}")
        if not items:
            if node.otherwise is not None:
                self.nodes(node.otherwise, dot, out)
            return
        body = node.branches[0][1]
        for key, element in items:
            mark = len(self.vars)
            if len(pipe.decl) == 1:
                self.vars.append([pipe.decl[0], element])
            elif len(pipe.decl) == 2:
                self.vars.append([pipe.decl[0], key])
                self.vars.append([pipe.decl[1], element])
            try:
                self.nodes(body, element, out)
            except _Continue:
                continue
            except _Break:
                break
            finally:
                del self.vars[mark:]

    def pipe(self, pipe: _Pipe, dot: Any) -> Any:
        value: Any = _NONE
        for command in pipe.commands:
            value = self.command(command, dot, value, pipe)
        if pipe.decl:
            if pipe.assign:
                self.variable(pipe.decl[0], pipe)[1] = value
            else:
                self.vars.append([pipe.decl[0], value])
        return value

    def command(self, command: tuple[tuple[Any, ...], ...], dot: Any, piped: Any, pipe: _Pipe) -> Any:
        first = command[0]
        if first[0] != "func":
            if len(command) > 1 or piped is not _NONE:
                raise TemplateError(f"can't give an argument to a non-function in {pipe.source!r}")
            return self.operand(first, dot, pipe)
        name = first[1]
        if name in ("and", "or"):  # lazy, and they return the deciding operand (Go 1.18)
            operands = list(command[1:])
            if not operands and piped is _NONE:
                raise TemplateError(f"{name} needs at least one argument in {pipe.source!r}")
            if piped is not _NONE:
                operands.append(("lit", piped))
            for operand in operands[:-1]:
                value = self.operand(operand, dot, pipe)
                if truth(value) == (name == "or"):
                    return value
            return self.operand(operands[-1], dot, pipe)
        args = [self.operand(operand, dot, pipe) for operand in command[1:]]
        if piped is not _NONE:
            args.append(piped)
        args = [None if isinstance(arg, _Absent) else arg for arg in args]  # Go hands functions nil
        if name in CONTEXT_FUNCTIONS:
            implementation = self.functions.get(name)
            if implementation is None:  # "missing": where templates may wait for the component stage, they do
                raise _Missing(f"function {name} is not supported in {pipe.source!r} (only in a component's "
                                    "values, where it names a parent's Terraform output)")
            try:
                return implementation(*args)
            except TypeError:
                raise TemplateError(f"wrong number or type of arguments for {name} ({len(args)} given) in "
                                    f"{pipe.source!r}") from None
        if name in _ENCODERS and len(args) == 1 and isinstance(args[0], RunTimeValue):
            return Encoded(args[0], name)  # the JSON of a value known only at run time
        if (name in _INDENTED_ENCODERS and len(args) == 2 and isinstance(args[1], RunTimeValue)
                and not isinstance(args[0], RunTimeValue)):
            try:
                return Encoded(args[1], name, (string_param(args[0]),))
            except FunctionError as exc:
                raise TemplateError(f"{name}: {exc} in {pipe.source!r}") from None
        for arg in args:
            if isinstance(arg, RunTimeValue):
                hint = (" (under !template, whose text is read back as JSON, it keeps its type, as Atmos recommends)"
                        if name in _ENCODERS or name in _INDENTED_ENCODERS else "")
                raise TemplateError(f"{name} cannot take {arg.describe()} in {pipe.source!r}: it is known only when "
                                    f"the stack runs, so it can only be a whole value{hint}")
        try:
            return (self.environ_funcs.get(name) or FUNCTIONS[name])(*args)
        except FunctionError as exc:
            raise TemplateError(f"{exc} in {pipe.source!r}") from None
        except TypeError:
            raise TemplateError(f"wrong number or type of arguments for {name} ({len(args)} given) in "
                                f"{pipe.source!r}") from None

    def operand(self, operand: tuple[Any, ...], dot: Any, pipe: _Pipe) -> Any:
        kind = operand[0]
        if kind == "lit":
            return operand[1]
        if kind == "field":
            return self.walk(dot, operand[1], "", pipe)
        if kind == "var":
            return self.walk(self.variable(operand[1], pipe)[1], operand[2], operand[1], pipe)
        if kind == "pipe":
            return self.walk(self.pipe(operand[1], dot), operand[2], "(…)", pipe)
        if kind == "func":  # a function named as an argument: Go calls it with no arguments
            return self.command((operand,), dot, _NONE, pipe)
        raise TemplateError(f"unexpected operand in {pipe.source!r}")  # pragma: no cover

    def variable(self, name: str, pipe: _Pipe) -> list[Any]:
        for slot in reversed(self.vars):
            if slot[0] == name:
                return slot
        raise TemplateError(f"undefined variable {name} in {pipe.source!r}")

    def walk(self, value: Any, names: tuple[str, ...], base: str, pipe: _Pipe) -> Any:
        path = base
        scalar = self.scalar
        for name in names:
            parent, path = path, f"{path}.{name}"
            if isinstance(value, _Absent):
                continue  # Go: a field of an invalid value is invalid too
            if isinstance(value, RunTimeValue):
                value = value.field(name)
                continue
            if isinstance(value, Mapping):
                if name not in value:
                    if path == ".locals" and value is self.root:
                        # not "missing": without a file's locals, deferring (keep_missing) never helps
                        path = base + "".join("." + n for n in names)
                        raise TemplateError(f"template value '{path}': stackflow does not resolve Atmos' "
                                            "`locals` here (file-scoped template variables)")
                    if self.missing_is_nil:
                        value = _Absent(path)
                        continue
                    raise _Missing(f"template value '{path}' is not defined")
                value = value[name]
                if scalar is not None:
                    value = scalar(value)
            elif value is None:
                raise TemplateError(f"template value '{path}': '{parent or '.'}' is null")
            else:
                raise TemplateError(f"template value '{path}': can't read a field of a {type(value).__name__}")
        return value

    def output(self, value: Any, pipe: _Pipe) -> Any:
        if isinstance(value, RunTimeValue):
            if self.whole:
                self.deferred = True
                return value
            raise TemplateError(f"'{pipe.source}' is {value.describe()}, known only when the stack runs: it can be "
                                "a whole value (the action alone), not printed into text")
        if isinstance(value, _Absent):  # Go prints `<no value>`
            if self.no_value is None:
                raise _Missing(f"template value '{value.path}' is not defined")
            self.no_value(value.path)
            return "<no value>"
        if pipe.plain is not None and not (self.nested_ok and isinstance(value, str)):
            return format_value(value, pipe.plain)
        if isinstance(value, str):
            return value
        if value is None or isinstance(value, (Mapping, list, tuple)):
            what = "null" if value is None else ("a map" if isinstance(value, Mapping) else "a list")
            raise TemplateError(f"'{pipe.source}' gives {what}, not a scalar to print "
                                "(use toJson, join or index)")
        return format_value(value, pipe.source)
