"""Atmos YAML functions (`!env`, `!terraform.output`, …): their argument grammar and the markers
the parser leaves in the data until an instance is resolved.

Argument grammar as Atmos' `pkg/function/parser`: whitespace-separated words, `'…'` or `"…"`
quoting (a doubled quote escapes itself), `|` as its own token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from stackflow.errors import ConfigError

_TOKEN = re.compile(r"\s+|(\"(?:[^\"\r\n]|\"\")*\"|'(?:[^'\r\n]|'')*')|(\|)|([^\s|]+)")
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OUTPUT_PATH = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\])*\Z")


class FunctionArgsError(ValueError):
    """Malformed arguments of a YAML function; the caller adds file and line. `offset`: where in
    the arguments, when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class EnvFunction:
    """`!env NAME [default]`, resolved per instance (the component's `env` section first, as Atmos)."""

    name: str
    default: str | None
    file: str
    line: int

    def __str__(self) -> str:
        return f"!env {self.name}" + (f" {self.default}" if self.default is not None else "")


@dataclass(frozen=True, slots=True)
class TerraformFunction:
    """`!terraform.output` / `!terraform.state` as written; becomes a `TerraformOutputRef` per instance."""

    function: str  # "terraform.output" | "terraform.state"
    args: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"!{self.function} {self.args}"


@dataclass(frozen=True, slots=True)
class MetadataRead:
    """`!tags`, `!labels`, `!labels.keys`, `!labels.values`: the instance's own merged
    `metadata.tags` / `metadata.labels`, read once its metadata is final (`metadata_reads.py`)."""

    function: str  # "tags" | "labels" | "labels.keys" | "labels.values"
    file: str
    line: int

    def __str__(self) -> str:
        return f"!{self.function}"


METADATA_READS = ("tags", "labels", "labels.keys", "labels.values")


class TemplateText(str):
    """`!template TEXT` whose text holds `{{ }}`: rendered per instance, then read as JSON when it
    is JSON (Atmos' `processTagTemplate`), so `!template '{{ toJson .vars.cidrs }}'` is a list.
    Unrendered (templates disabled), it is the text, as Atmos leaves it."""

    __slots__ = ()


def decode_template_text(text: str) -> Any:
    """Atmos' `!template` result: the JSON value `text` spells, else `text` itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class RepoRoot:
    """`!repo-root [default]` in atmos.yaml: the repository root (`base_path: !repo-root`); the
    default never applies, as the loader always reads a repository."""


class LiteralString(str):
    """`!literal TEXT`: a string kept exactly as written; templates in it are never rendered
    (`{{ .Values.x }}` for Helm, `${var.x}` for Terraform's templatefile)."""

    __slots__ = ()


class AppendList(list):  # type: ignore[type-arg]
    """`!append [...]`: a list each deep merge appends to the list below it, whatever
    `list_merge_strategy` says (Atmos' `__atmos_append__` wrapper); over a non-list it is the list.

    With nothing below yet it stays an `AppendList` (`merge.merge`), until the end of the merge
    that Atmos would make as one call (`settle`): then it is a plain list.
    """

    __slots__ = ()


UNSET = "!unset"  # `!unset` reads as this text (Atmos: tag + " " + value, trimmed); see `settle`


def settle(value: Any, *, unset: bool, clean: dict[Any, Any] | None = None) -> Any:
    """`value` with every `AppendList` a plain list and, with `unset`, every map entry and list
    item whose value is text starting with `!unset` removed, at any depth (Atmos' YAML-function
    pass on a component's sections). Never changes `value`: containers are rebuilt only along
    changed paths; `clean` remembers (by identity) those found to need nothing."""
    kind = type(value)
    if kind is dict:
        return _settle_dict(value, unset, {} if clean is None else clean)
    if kind is list or kind is AppendList:
        return _settle_list(value, unset, {} if clean is None else clean)
    return value


def settle_sections(
    sections: dict[str, Any], names: tuple[str, ...], *, unset: bool, clean: dict[Any, Any] | None = None
) -> None:
    """`settle` each of `sections[name]` (replaced in `sections` when it changes)."""
    clean = {} if clean is None else clean
    for name in dict.fromkeys(names):
        value = sections.get(name)
        if type(value) is dict and value:
            settled = _settle_dict(value, unset, clean)
            if settled is not value:
                sections[name] = settled


_DROP = object()
_SETTLED = "settled"  # first part of `clean` keys (a `ValueResolver` shares the dict: its keys start with an int)


def _settle_item(item: Any, unset: bool, clean: dict[Any, Any]) -> Any:
    kind = type(item)
    if kind is dict:
        return _settle_dict(item, unset, clean)
    if kind is list or kind is AppendList:
        return _settle_list(item, unset, clean)
    if unset and isinstance(item, str) and item.startswith(UNSET):  # Atmos: strings.HasPrefix
        return _DROP
    return item


def _settle_dict(value: dict[Any, Any], unset: bool, clean: dict[Any, Any]) -> dict[Any, Any]:
    memo = (_SETTLED, unset, id(value))
    if clean.get(memo) is value:
        return value
    out: dict[Any, Any] | None = None
    for key, item in value.items():
        new = _settle_item(item, unset, clean)
        if new is not item:
            if out is None:
                out = dict(value)
            if new is _DROP:
                del out[key]
            else:
                out[key] = new
    if out is None:
        clean[memo] = value  # the reference keeps the id from being reused
        return value
    return out


def _settle_list(value: list[Any], unset: bool, clean: dict[Any, Any]) -> list[Any]:
    plain = type(value) is list
    memo = (_SETTLED, unset, id(value))
    if plain and clean.get(memo) is value:
        return value
    items: list[Any] | None = None
    for index, item in enumerate(value):
        new = _settle_item(item, unset, clean)
        if new is not item and items is None:
            items = value[:index]  # a plain list, whatever `value` is
        if items is not None and new is not _DROP:
            items.append(new)
    if items is not None:
        return items
    if plain:
        clean[memo] = value
        return value
    return list(value)


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    offset: int
    quoted: bool
    pipe: bool


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # an unterminated quote
            raise FunctionArgsError(f"unterminated quoted value in {text!r}", pos)
        if match.group(1):
            tokens.append(Token(match.group(1), match.start(), True, False))
        elif match.group(2):
            tokens.append(Token("|", match.start(), False, True))
        elif match.group(3):
            if match.group(3)[0] in "'\"":
                raise FunctionArgsError(f"unterminated quoted value in {text!r}", match.start())
            tokens.append(Token(match.group(3), match.start(), False, False))
        pos = match.end()
    return tokens


def unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        quote = value[0]
        return value[1:-1].replace(quote * 2, quote)
    return value


def parse_env_args(text: str) -> tuple[str, str | None]:
    """`NAME [default]`."""
    tokens = tokenize(text)
    if not tokens:
        raise FunctionArgsError("needs a variable name")
    if len(tokens) > 2:
        raise FunctionArgsError(f"takes 1 or 2 arguments (NAME [default]), got {len(tokens)}: {text!r}")
    default = unquote(tokens[1].value) if len(tokens) == 2 else None
    return unquote(tokens[0].value), default


def _is_expression_start(token: Token) -> bool:
    return token.value[:1] in (".", "[", "{", "|", "'", '"')


def parse_terraform_args(text: str) -> tuple[str, str | None, str]:
    """`component [stack] expression` → (component, stack or None, expression)."""
    tokens = tokenize(text)
    if len(tokens) < 2:
        raise FunctionArgsError(f"needs 2 or 3 arguments (component [stack] output), got {text!r}")
    component = unquote(tokens[0].value)
    if len(tokens) == 2 or _is_expression_start(tokens[1]):
        expression = unquote(text[tokens[1].offset :])
        stack = None
    else:
        if len(tokens) > 3 and not _is_expression_start(tokens[2]):
            raise FunctionArgsError(f"needs 2 or 3 arguments (component [stack] output), got {text!r}")
        stack = unquote(tokens[1].value)
        expression = unquote(text[tokens[2].offset :])
    if not component:
        raise FunctionArgsError("component must not be empty")
    if not expression:
        raise FunctionArgsError("output must not be empty")
    return component, stack, expression


def split_default(expression: str) -> tuple[str, str | None]:
    """`.ids // ["a"]` → (`.ids`, JSON text of the default); (`expression`, None) without one.

    yq's alternative operator, the one yq form Atmos documents for `!terraform.output`: the
    default stands in when the output is missing, null or false, or its component has no state.
    """
    depth, quote = 0, ""
    for index, char in enumerate(expression):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "/" and depth == 0 and expression.startswith("//", index):
            left, right = expression[:index].strip(), expression[index + 2 :].strip()
            if not right:
                raise FunctionArgsError(f"output expression {expression!r}: nothing after '//'")
            try:
                value = yaml.load(right, Loader=yaml.CSafeLoader)  # the safe C loader
            except yaml.YAMLError:
                raise FunctionArgsError(f"default {right!r} is not a YAML or JSON value") from None
            return left, json.dumps(value)
    return expression, None


def parse_output_expression(expression: str) -> tuple[str, str]:
    """`vpc_id` / `.vpc_id` / `.subnet_ids[0]` / `.cfg["a-b"].x` → (output name, path after it);
    `.` (yq's whole document) → ("", ""): every output of the component, as a map."""
    if expression == ".":
        return "", ""
    body = expression[1:] if expression.startswith(".") else expression
    match = _OUTPUT_NAME.match(body)
    if match is None:
        raise FunctionArgsError(f"output {expression!r} does not start with an output name")
    path = body[match.end() :]
    if path and not expression.startswith("."):
        raise FunctionArgsError(f"output {expression!r}: write a path as '.{expression}'")
    if not _OUTPUT_PATH.match(path):
        raise FunctionArgsError(
            f"output expression {expression!r} is not supported: only an output name followed by"
            " '.key', '[index]' or '[\"key\"]' steps, and an optional '// default' (no other yq operators)"
        )
    return match.group(0), path


def replace_kind(value: Any, kind: type, replace: Any) -> Any:
    """`value` with every `kind` object in it (in maps and lists, at any depth) replaced by
    `replace(it)`; containers are rebuilt only along changed paths (parsed data is shared)."""
    found = type(value)
    if found is kind:
        return replace(value)
    if found is dict:
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            new = replace_kind(item, kind, replace)
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, list):  # an `AppendList` stays one
        items = [replace_kind(item, kind, replace) for item in value]
        if any(new is not old for new, old in zip(items, value)):
            return type(value)(items)
    return value


def holds_kind(value: Any, kind: type) -> bool:
    """Whether a `kind` object is anywhere in `value` (in maps and lists)."""
    if type(value) is kind:
        return True
    if type(value) is dict:
        return any(holds_kind(item, kind) for item in value.values())
    if isinstance(value, list):
        return any(holds_kind(item, kind) for item in value)
    return False


def find_kind(value: Any, kind: type) -> Iterator[Any]:
    """Every `kind` object in `value` (in maps and lists, at any depth)."""
    if type(value) is kind:
        yield value
    elif type(value) is dict:
        for item in value.values():
            yield from find_kind(item, kind)
    elif isinstance(value, list):
        for item in value:
            yield from find_kind(item, kind)


def fill_kind(value: Any, kind: type, values: Mapping[Any, Any], missing: str = "no value was read for it") -> Any:
    """`value` with every `kind` object (a value kept for the run: `StoreRef`, `AwsFact`, `ExecRef`)
    replaced by what the run found for it; one it has nothing for is a `ConfigError` naming its file."""

    def found(ref: Any) -> Any:
        if ref not in values:
            raise ConfigError(f"{ref.source_file}: {ref}: {missing}")
        return values[ref]

    return replace_kind(value, kind, found)
