"""Atmos YAML functions (`!env`, `!terraform.output`, …): their argument grammar and the markers
the parser leaves in the data until an instance is resolved.

Argument grammar as Atmos' `pkg/function/parser`: whitespace-separated words, `'…'` or `"…"`
quoting (a doubled quote escapes itself), `|` as its own token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

_TOKEN = re.compile(r"\s+|(\"(?:[^\"\r\n]|\"\")*\"|'(?:[^'\r\n]|'')*')|(\|)|([^\s|]+)")
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OUTPUT_PATH = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\[\"[^\"]*\"\]|\['[^']*'\])*\Z")


class FunctionArgsError(ValueError):
    """Malformed arguments of a YAML function; the caller adds file and line."""


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


class LiteralString(str):
    """`!literal TEXT`: a string kept exactly as written; templates in it are never rendered
    (`{{ .Values.x }}` for Helm, `${var.x}` for Terraform's templatefile)."""

    __slots__ = ()


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
            raise FunctionArgsError(f"unterminated quoted value in {text!r}")
        if match.group(1):
            tokens.append(Token(match.group(1), match.start(), True, False))
        elif match.group(2):
            tokens.append(Token("|", match.start(), False, True))
        elif match.group(3):
            if match.group(3)[0] in "'\"":
                raise FunctionArgsError(f"unterminated quoted value in {text!r}")
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
    """`vpc_id` / `.vpc_id` / `.subnet_ids[0]` / `.cfg["a-b"].x` → (output name, path after it)."""
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
