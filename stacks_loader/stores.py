"""Atmos `!store` / `!store.get` values: which parameter or secret each one reads, and its value.

Pure: the arguments are parsed as Atmos' `pkg/function/parser` parses them, the names laid out as
its `pkg/store/providers` lay them out, the values decoded and queried as it does; reading the
store itself is `tasks/stores.py`'s side effect. `!secret` (Atmos' secrets feature) is not read.

    !store STORE [STACK] COMPONENT KEY [| default VALUE] [| query EXPR]   (3 words: this stack)
    !store.get STORE KEY [| default VALUE] [| query EXPR]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import StoreConfig
from .deferred import PATH_STEP
from .model import StoreRef
from .yaml_functions import FunctionArgsError, Token, fill_kind, find_kind, tokenize, unquote


@dataclass(frozen=True)
class StoreArgs:
    """A `!store` / `!store.get` value's arguments, as Atmos' ParseStore / ParseStoreGet give them."""

    store: str
    key: str
    stack: str = ""  # `!store` with 4 words; "" = the instance's own stack (`!store.get`: unused)
    component: str = ""  # `!store` only
    default: str | None = None  # `| default VALUE`: a string, as in Atmos
    query: str = ""  # `| query EXPR`: a yq expression on the value read


@dataclass(frozen=True)
class StoreRead:
    """One concrete read for one instance: the store, and the parameter or secret name in it."""

    ref: StoreRef
    store: StoreConfig
    name: str  # the SSM parameter name or the Secrets Manager secret id
    default: str | None
    query: tuple[tuple[str, str | int], ...]  # ("key", k) / ("index", i) steps; () = the whole value

    @property
    def service(self) -> str:
        return "ssm" if self.store.kind == "aws/ssm" else "secretsmanager"

    @property
    def what(self) -> str:
        """What the name names, for messages."""
        return "parameter" if self.store.kind == "aws/ssm" else "secret"


# --- the argument grammar (Atmos `pkg/function/parser/parser.go`; the lexer is yaml_functions') ---
_OPTIONS = ("default", "query")


class _ParseError(Exception):
    def __init__(self, text: str, offset: int, message: str) -> None:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        super().__init__(f"invalid function arguments at {line}:{column}: {message}")


def _tokenize(text: str) -> list[Token]:
    try:
        return tokenize(text)
    except FunctionArgsError as exc:  # an unterminated quote: say where, as Atmos' parser does
        raise _ParseError(text, exc.offset or 0, "unterminated quoted value") from None


def _words(text: str, head: str) -> list[str]:
    out = []
    for token in _tokenize(head):
        if token.pipe:
            raise _ParseError(text, token.offset, "unexpected pipe")
        out.append(unquote(token.value))
    return out


def _next_option(tokens: list[Token], start: int) -> int:
    for index in range(start, len(tokens) - 1):
        if tokens[index].pipe and unquote(tokens[index + 1].value) in _OPTIONS:
            return index
    return len(tokens)


def _split_options(text: str) -> tuple[str, str | None, str]:
    """(head, default, query): the words before the first `| default` / `| query`, and those options."""
    tokens = _tokenize(text)
    first = _next_option(tokens, 0)
    if first == len(tokens):
        return text, None, ""
    head, default, query = text[:tokens[first].offset].strip(), None, ""
    index = first
    while index < len(tokens):
        if not tokens[index].pipe or index + 1 >= len(tokens):
            raise _ParseError(text, tokens[index].offset, "expected option delimiter")
        keyword = unquote(tokens[index + 1].value)
        if keyword not in _OPTIONS:
            raise _ParseError(text, tokens[index + 1].offset, "expected default or query option")
        if index + 2 >= len(tokens) or tokens[index + 2].pipe:
            raise _ParseError(text, tokens[index + 1].offset, "expected option value")
        following = _next_option(tokens, index + 2)
        if keyword == "default" and following != index + 3:
            raise _ParseError(text, tokens[index + 3].offset, "default option accepts one value")
        if following == len(tokens):
            end = tokens[-1].offset + len(tokens[-1].value)
        else:
            end = tokens[following].offset
        value = unquote(text[tokens[index + 2].offset:end].strip())
        if keyword == "default":
            default = value
        elif not value:
            raise _ParseError(text, tokens[index + 2].offset, "option value must not be empty")
        else:
            query = value
        index = following
    return head, default, query


def parse_store_args(ref: StoreRef) -> StoreArgs:
    """The arguments of a `!store` / `!store.get` value, or a ConfigError saying what is wrong."""
    try:
        head, default, query = _split_options(ref.args)
        words = _words(ref.args, head)
    except _ParseError as exc:
        raise ConfigError(str(exc)) from None
    if ref.function == "store":
        if len(words) == 3:
            return StoreArgs(words[0], words[2], "", words[1], default, query)
        if len(words) == 4:
            return StoreArgs(words[0], words[3], words[1], words[2], default, query)
        raise ConfigError("!store takes 3 or 4 words (STORE [STACK] COMPONENT KEY), "
                          f"then `| default VALUE` / `| query EXPR`; got {len(words)}")
    if ref.function == "store.get":
        if len(words) == 2:
            return StoreArgs(words[0], words[1], default=default, query=query)
        raise ConfigError("!store.get takes 2 words (STORE KEY), then `| default VALUE` / `| query EXPR`; "
                          f"got {len(words)}")
    raise ConfigError(f"!{ref.function} is not a store read")


# --- names (Atmos `pkg/store/providers/keys.go` and the two AWS stores' GetKey) ------------------
def store_key(prefix: str, stack_delimiter: str, stack: str, component: str, key: str) -> str:
    """Atmos' getKey: prefix, the stack split by the delimiter, the component split by "/", the key,
    joined by "/", then each "//" made "/" (once, left to right, as Go's ReplaceAll)."""
    parts = [prefix]
    if stack:
        # Go's strings.Split by "" splits into characters
        parts += stack.split(stack_delimiter) if stack_delimiter else list(stack)
    if component:
        parts += component.split("/")
    parts.append(key)
    return "/".join(parts).replace("//", "/")


def get_key_name(store: StoreConfig, key: str) -> str:
    """The name `!store.get` reads: `prefix/key`; an SSM name always starts with "/"."""
    prefix = store.option("prefix")
    name = f"{prefix}/{key}" if prefix else key
    if store.kind == "aws/ssm" and not name.startswith("/"):
        name = "/" + name
    return name


# --- the query: the yq paths stackflow reads for !terraform.output ------------------------------
def parse_query(query: str) -> tuple[tuple[str, str | int], ...]:
    """`.`, `.a.b[0]`, `.a["k"]`, `.[0]`: the steps of a yq path; other yq is a ConfigError."""
    if query in ("", "."):
        return ()
    if not query.startswith("."):
        raise ConfigError(f"query {query!r} is not a path (stackflow reads yq paths such as .a.b[0] or "
                          ".a[\"k\"], not other yq expressions)")
    rest = query[1:] if query.startswith(".[") else query
    steps: list[tuple[str, str | int]] = []
    pos = 0
    while pos < len(rest):
        match = PATH_STEP.match(rest, pos)
        if not match:
            raise ConfigError(f"query {query!r} is not a path stackflow reads (at {rest[pos:]!r}; it reads yq "
                              ".a.b[0] and .a[\"k\"], not other yq expressions)")
        key, index, quoted = match.groups()
        steps.append(("index", int(index)) if index is not None else ("key", key if key is not None else quoted))
        pos = match.end()
    return tuple(steps)


def query_value(value: Any, read: StoreRead) -> Any:
    """The query's result, as yq gives it: null for a missing key or index, an error for a name
    looked up in a list."""
    for step, arg in read.query:
        if isinstance(value, dict):
            value = value.get(str(arg))
        elif isinstance(value, list):
            if step == "key":
                raise ConfigError(f"{read.ref}: query: cannot index a list with {arg!r}")
            value = value[arg] if -len(value) <= arg < len(value) else None  # type: ignore[operator]
        else:
            value = None
    return value


# --- one instance's reads ---------------------------------------------------------------------
def plan_store_read(ref: StoreRef, stack: str, stores: Mapping[str, StoreConfig]) -> StoreRead:
    """The read `ref` means in `stack`, or a ConfigError saying why stackflow cannot make it."""
    if ref.function == "secret":
        raise ConfigError("stackflow does not read Atmos stores marked secret (!secret, Atmos' secrets feature)")
    if "{{" in ref.args:
        raise ConfigError("a template in store arguments is not rendered by stackflow")
    args = parse_store_args(ref)
    store = stores.get(args.store)
    if store is None:
        known = ", ".join(sorted(stores)) or "none"
        raise ConfigError(f"no store {args.store!r} in atmos.yaml `stores:` (configured: {known})")
    if store.secret and ref.function == "store":
        raise ConfigError(f"store {store.name!r} is a secret store; Atmos reads it only with !secret, "
                          "which stackflow does not read")
    if not store.supported:
        raise ConfigError(f"store {store.name!r} is a {store.type} store; stackflow reads only "
                          "aws-ssm-parameter-store and aws-secrets-manager stores")
    if store.identity:
        raise ConfigError(f"store {store.name!r} reads as Atmos auth identity {store.identity!r}; stackflow "
                          "does not log in through Atmos auth (drop `identity` to use the AWS environment)")
    query = parse_query(args.query)
    if ref.function == "store":
        delimiter = store.option("stack_delimiter", "-")
        name = store_key(store.option("prefix"), delimiter, args.stack or stack, args.component, args.key)
    else:
        name = get_key_name(store, args.key)
    return StoreRead(ref, store, name, args.default, query)


def store_reads(vars_: Mapping[str, Any], stack: str, stores: Mapping[str, StoreConfig]) -> dict[StoreRef, StoreRead]:
    """Every store read an instance's `vars` need, by value (usually none)."""
    return {ref: plan_store_read(ref, stack, stores) for ref in find_kind(dict(vars_), StoreRef)}


# --- values -------------------------------------------------------------------------------------
def _json_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity: not JSON to Go


def _json(raw: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(raw, parse_constant=_json_constant)
    except ValueError:
        return False, None


def decode_value(read: StoreRead, raw: str) -> Any:
    """A stored string as Atmos returns it: JSON-decoded when it parses, else the raw string. A
    secret SSM store keeps a JSON number, boolean or null as its exact text (Atmos writes those raw)."""
    parsed, value = _json(raw)
    if not parsed:
        return raw
    if read.store.kind == "aws/ssm" and read.store.secret and not isinstance(value, (dict, list, str)):
        return raw
    return value


def store_value(read: StoreRead, raw: str) -> Any:
    """The value a read gives once the store answered `raw`: decoded, then queried (`!store.get`
    gives its default for a stored null, as Atmos)."""
    value = decode_value(read, raw)
    if value is None and read.ref.function == "store.get" and read.default is not None:
        return read.default
    return query_value(value, read)


def fill_stores(value: Any, values: Mapping[StoreRef, Any]) -> Any:
    """A copy of `value` (copied along changed paths) with every store reference replaced by the value read for it."""
    return fill_kind(value, StoreRef, values)
