"""The functions templates may call: Go's builtins and the Sprig functions Atmos stacks use.

Each behaves as Go's `text/template` or Masterminds Sprig v3 does (argument order, conversions,
Go's formatting of values). A function not listed here is refused by the renderer, never guessed:
Gomplate's and Atmos' own (`atmos.Component`, `atmos.Store`, …) read the outside world.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from functools import partial
import urllib.parse
import warnings
from collections.abc import Callable, Mapping
from typing import Any


_GO_SPACE = " \t\n\v\f\r\x85\xa0"  # what Go's strings.TrimSpace removes


class FunctionError(Exception):
    """A function refused its arguments; the renderer names the action."""


# Go's formatting of values -------------------------------------------------------------------


def go_string(value: Any) -> str:
    """`fmt.Sprint` of one value, as Go prints YAML-decoded data (`%v`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if value is None:
        return "<nil>"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{go_string(k)}:{go_string(v)}" for k, v in _sorted_items(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def _go_float(value: float, low: int = -4, high: int = 6) -> str:
    """Go's `%v` of a float64: the shortest digits, in exponent form below 1e-4 and from 1e6
    (`low` / `high`: the decimal exponents where the plain form stops)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")  # repr: the shortest round-trip digits
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction.rstrip("0")).lstrip("0") or "0"
    exponent = int(exp_text or 0) + len(whole.lstrip("0")) - 1 if whole.strip("0") else (
        int(exp_text or 0) - (len(fraction) - len(fraction.lstrip("0"))) - 1)
    digits = digits.rstrip("0") or "0"
    if low <= exponent < high:
        if exponent >= 0:
            head, tail = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1 :]
        else:
            head, tail = "0", "0" * (-exponent - 1) + digits
        return sign + head + ("." + tail if tail else "")
    tail = digits[1:]
    return f"{sign}{digits[0]}{'.' + tail if tail else ''}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _sorted_items(value: Mapping[Any, Any]) -> list[tuple[Any, Any]]:
    return sorted(value.items(), key=lambda item: go_string(item[0]))


def truth(value: Any) -> bool:
    """Go template truthiness: false, 0, "", nil and empty collections are false."""
    if value is None:
        return False
    return bool(value)  # scalars and collections as Python; an undefined value is false too


def go_sprint(*args: Any) -> str:
    """`fmt.Sprint`: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_string(arg))
    return "".join(out)


_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\d*))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    """`fmt.Sprintf` for the verbs stack templates use; a verb/argument mismatch is refused."""
    out: list[str] = []
    pos = 0
    index = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            raise FunctionError(f"printf width '*' is not supported in {fmt!r}")
        if index >= len(args):
            raise FunctionError(f"printf {fmt!r} has more verbs than arguments")
        text = _format_verb(verb, flags, precision, args[index], fmt)
        index += 1
        if width:
            pad = "0" if "0" in flags and "-" not in flags and verb not in "sqvt" else " "
            size = int(width)
            if "-" in flags:
                text = text.ljust(size)
            elif pad == "0" and text[:1] in "+-":
                text = text[0] + text[1:].rjust(size - 1, "0")
            else:
                text = text.rjust(size, pad)
        out.append(text)
    out.append(fmt[pos:])
    if index != len(args):
        raise FunctionError(f"printf {fmt!r} has more arguments than verbs")
    return "".join(out)


def _format_verb(verb: str, flags: str, precision: str | None, value: Any, fmt: str) -> str:
    plus = "+" if "+" in flags else ""
    if verb == "v" or (verb == "s" and isinstance(value, (str, list, tuple, Mapping))):
        text = go_string(value)
        return text[: int(precision)] if precision and verb == "s" else text
    if verb == "q":
        return _go_quote(go_string(value)) if not isinstance(value, int) or isinstance(value, bool) else repr(chr(value))
    if verb == "t" and isinstance(value, bool):
        return go_string(value)
    if verb in "dxXob" and isinstance(value, int) and not isinstance(value, bool):
        spec = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
        return format(value, plus + spec)
    if verb in "xX" and isinstance(value, str):
        text = value.encode().hex()
        return text.upper() if verb == "X" else text
    if verb in "feEgG" and isinstance(value, float):
        if verb in "gG" and precision is None:
            return _go_float(float(value))
        digits = 6 if precision is None else int(precision or 0)
        return format(float(value), f"{plus}.{digits}{verb}")
    if verb == "c" and isinstance(value, int):
        return chr(value)
    raise FunctionError(f"printf verb '%{verb}' does not take {_type_name(value)} {go_string(value)!r} in {fmt!r}")


def _go_quote(text: str) -> str:
    """Go's `%q` / `strconv.Quote`: a double-quoted string with Go escapes."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(value), type(value).__name__)


# conversions as Sprig does them (spf13/cast) ------------------------------------------------


def _to_int(value: Any) -> int:
    """`cast.ToInt64`: strings parse as integers (else 0), floats truncate, nil/false are 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 0
    if isinstance(value, str):  # strconv.ParseInt(s, 0, 0) after cast's trimZeroDecimal; else 0
        text = re.sub(r"\.0*\Z", "", value) if re.fullmatch(r"[+-]?\d+\.0*", value) else value
        try:
            if re.fullmatch(r"[+-]?0[0-7_]+", text):
                return int(text.replace("0", "0o", 1) if text[0] == "0" else text[0] + "0o" + text[2:], 0)
            return int(text, 0) if re.fullmatch(r"[+-]?(?:0[xXbBoO])?[0-9a-fA-F_]+", text) else 0
        except ValueError:
            return 0
    return 0


def _to_float(value: Any) -> float:
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return 0.0
    return 0.0


def _s(value: Any) -> str:
    """A `string` parameter: Go refuses anything else (a missing value, null, a number)."""
    if isinstance(value, str):
        return value
    if value is None:
        raise FunctionError("invalid value; expected string")
    raise FunctionError(f"wrong type for value; expected string; got {_type_name(value)}")


def string_param(value: Any) -> str:
    """A Go function's `string` parameter, checked (`FunctionError` otherwise)."""
    return _s(value)


def strval(value: Any) -> str:
    """Sprig's `strval` (toString, join, cat …): strings as they are, others as `%v`."""
    return value if isinstance(value, str) else go_string(value)


def _list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None:
        return []
    raise FunctionError(f"{name}: expected a list, got {_type_name(value)}")


def _map(value: Any, name: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise FunctionError(f"{name}: expected a map, got {_type_name(value)}")


def empty(value: Any) -> bool:
    """Sprig's `empty`: Go's zero value of its type."""
    return not truth(value)


# Go builtins -----------------------------------------------------------------------------------


def _go_len(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())  # Go counts bytes
    if isinstance(value, (list, tuple, Mapping)):
        return len(value)
    raise FunctionError(f"len of {_type_name(value)} is not defined")


def _go_index(item: Any, *indexes: Any) -> Any:
    for index in indexes:
        if isinstance(item, Mapping):
            item = item.get(index) if isinstance(index, str) else None
        elif isinstance(item, (list, tuple)):
            if not isinstance(index, int) or isinstance(index, bool):
                raise FunctionError(f"index of a list must be an integer, not {_type_name(index)}")
            if not 0 <= index < len(item):
                raise FunctionError(f"index out of range: {index}")
            item = item[index]
        elif item is None:
            raise FunctionError("index of untyped nil")
        else:
            raise FunctionError(f"can't index item of type {_type_name(item)}")
    return item


def _go_slice(item: Any, *indexes: Any) -> Any:
    if not isinstance(item, (list, tuple)):  # Sprig's `slice` (lists only) replaces Go's builtin
        raise FunctionError(f"slice: expected a list, got {_type_name(item)}")
    if len(indexes) > 2:
        raise FunctionError("slice: too many indexes (three-index slices are not supported)")
    bounds = [int(i) for i in indexes] + [len(item)] * (2 - len(indexes)) if indexes else [0, len(item)]
    start, end = bounds[0], bounds[1]
    if not 0 <= start <= end <= len(item):
        raise FunctionError(f"slice: index out of range: [{start}:{end}] of length {len(item)}")
    return item[start:end]


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Go's basic-kind comparison: ints with ints, floats with floats, strings, bools."""

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int):
            return "int"
        if isinstance(v, float):
            return "float"
        if isinstance(v, str):
            return "string"
        if v is None:
            return "nil"
        return "other"

    ka, kb = kind(a), kind(b)
    if ka == "other" or kb == "other":
        raise FunctionError(f"can't compare {_type_name(a)} with {_type_name(b)}: not a basic type")
    if ka != kb:
        raise FunctionError(f"incompatible types for comparison: {_type_name(a)} and {_type_name(b)}")
    return a, b


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise FunctionError("eq needs at least two arguments")
    for other in others:
        if first is None or other is None:  # null or missing: Go's invalid value equals only another
            if first is None and other is None:
                return True
            continue
        a, b = _comparable(first, other)
        if a == b:
            return True
    return False


def _ordered(name: str, op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        a, b = _comparable(a, b)
        if isinstance(a, bool) or a is None:
            raise FunctionError(f"{name}: invalid type for comparison: {_type_name(a)}")
        return op(a, b)

    return compare


# Sprig: strings ---------------------------------------------------------------------------------


def _title(text: str) -> str:
    """Go's `strings.Title`: the first letter of each word upper-cased (words split by non-letters)."""
    out: list[str] = []
    prev_letter = False
    for char in text:
        is_word = char.isalnum() or char == "_"
        out.append(char.upper() if is_word and not prev_letter else char)
        prev_letter = is_word
    return "".join(out)


def _cases_title(text: str) -> str:
    """Gomplate's `strings.Title` (x/text `cases.Title`): each word capitalised, its rest lower-cased."""
    out: list[str] = []
    in_word = False
    for char in text:
        is_word = char.isalnum() or char in "_'"
        out.append((char.lower() if in_word else char.upper()) if is_word else char)
        in_word = is_word
    return "".join(out)


def _snake(text: str, delimiter: str) -> str:
    """xstrings' snake/kebab case: ' ', '_' and '-' each become the delimiter; one is added where a
    lower-case letter or digit meets a capital, and before the last capital of a run that a
    lower-case letter follows (`HTTPServer` → http_server); other characters stay."""
    out: list[str] = []
    for i, char in enumerate(text):
        if char in " _-":
            out.append(delimiter)
            continue
        if char.isupper():
            prev = text[i - 1] if i else ""
            following = text[i + 1] if i + 1 < len(text) else ""
            boundary = prev.islower() or prev.isdigit() or (prev.isupper() and following.islower())
            if out and out[-1] != delimiter and boundary:
                out.append(delimiter)
            out.append(char.lower())
        else:
            out.append(char)
    return "".join(out)


def _abbrev(width: Any, text: str) -> str:
    size = _to_int(width)
    if size < 4:
        raise FunctionError("abbrev: minimum abbreviation width is 4")
    return text if len(text) <= size else text[: size - 3] + "..."


def _type_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return "<nil>" if value is None else _type_name(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "slice"
    return "invalid" if value is None else _type_name(value)


def _untitle(text: str) -> str:
    out: list[str] = []
    prev_space = True
    for char in text:
        out.append(char.lower() if prev_space and char.isalpha() else char)
        prev_space = char.isspace()
    return "".join(out)


def _trunc(count: Any, text: str) -> str:
    count = _to_int(count)
    if count < 0 and len(text) + count > 0:
        return text[len(text) + count :]
    if count >= 0 and len(text) > count:
        return text[:count]
    return text


def _substr(start: Any, end: Any, text: str) -> str:
    start, end = _to_int(start), _to_int(end)
    if start < 0:
        return text[:end]
    if end < 0 or end > len(text):
        return text[start:]
    return text[start:end]


def _quote(*values: Any) -> str:
    return " ".join(_go_quote(strval(v)) for v in values if v is not None)


def _squote(*values: Any) -> str:
    return " ".join(f"'{strval(v)}'" for v in values if v is not None)


def _cat(*values: Any) -> str:
    return " ".join(strval(v) for v in values if v is not None)


def _indent(spaces: Any, text: str) -> str:
    pad = " " * _to_int(spaces)
    return pad + text.replace("\n", "\n" + pad)





# Sprig: lists and dicts ----------------------------------------------------------------------


def _first(value: Any) -> Any:
    items = _list(value, "first")
    return items[0] if items else None


def _last(value: Any) -> Any:
    items = _list(value, "last")
    return items[-1] if items else None


def _uniq(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _list(value, "uniq"):
        if item not in out:
            out.append(item)
    return out


def _has(needle: Any, haystack: Any) -> bool:
    return haystack is not None and needle in _list(haystack, "has")


def _without(value: Any, *omit: Any) -> list[Any]:
    return [item for item in _list(value, "without") if item not in omit]


def _sort_alpha(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return sorted(strval(v) for v in value)
    return [strval(value)]


def _split(sep: str, text: str) -> dict[str, str]:
    return {f"_{i}": part for i, part in enumerate(_go_split(text, sep))}


def _go_split(text: str, sep: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)


def _join(sep: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return sep.join(strval(v) for v in value if v is not None)
    return strval(value)


def _dict(*pairs: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        result[strval(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return result


def _get(value: Any, key: str) -> Any:
    found = _map(value, "get").get(key)
    return "" if found is None and key not in value else found


def _dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FunctionError("dig needs at least three arguments: keys…, a default and a map")
    *keys, default, data = args
    current: Any = _map(data, "dig")
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return current


def _keys(*maps: Any) -> list[str]:
    # Sprig's order is Go's random map order; sorted is one of those orders, and stable
    return sorted({key for value in maps for key in _map(value, "keys")})


def _collect_keys(value: Any, *nested: str) -> list[str]:
    """Atmos' own `collectKeys`: a map's keys sorted, or the union of `nested`'s keys in its values."""
    data = _map(value, "collectKeys")
    if not nested:
        return sorted(data)
    found = {key for entry in data.values() if isinstance(entry, Mapping)
             and isinstance(entry.get(nested[0]), Mapping) for key in entry[nested[0]]}
    return sorted(found)


def _values(value: Any) -> list[Any]:
    return [v for _, v in _sorted_items(_map(value, "values"))]


def _pick(value: Any, *keys: str) -> dict[str, Any]:
    data = _map(value, "pick")
    return {k: data[k] for k in keys if k in data}


def _omit(value: Any, *keys: str) -> dict[str, Any]:
    return {k: v for k, v in _map(value, "omit").items() if k not in keys}


# Sprig: defaults and flow ----------------------------------------------------------------------


def _default(default: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return default
    return given[0]


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if not empty(v)), None)


def _ternary(if_true: Any, if_false: Any, condition: Any) -> Any:
    if not isinstance(condition, bool):
        raise FunctionError(f"ternary: expected bool; found {go_string(condition)}")
    return if_true if condition else if_false


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise FunctionError(f"required: {message}")
    return value


def _fail(message: str) -> Any:
    raise FunctionError(f"fail: {message}")


# Sprig: conversion ----------------------------------------------------------------------------


def _encoding_json_float(value: float) -> str | None:
    """A float as Go's encoding/json writes it (Sprig's `toJson`): the shortest digits, plain from
    1e-6 up to 1e21, else in exponent form without a leading zero (`1e-7`); None for NaN or ±Inf,
    which it refuses (left to json.dumps)."""
    if not math.isfinite(value):
        return None
    text = _go_float(value, -6, 21)
    return text.replace("e-0", "e-") if "e-0" in text else text


def _ugorji_float(value: float) -> str:
    """A float as Gomplate's `toJSON` writes it (ugorji's codec, jsonFloatStrconvFmtPrec64): a
    whole number below 2^52 keeps one decimal (`1.0`; its noFrac64 looks no further), the exponent
    form (below 1e-6 and from 1e21) keeps two exponent digits (`1e-07`), NaN and ±Inf are null."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = _go_float(value, -6, 21)
    return text + ".0" if value.is_integer() and abs(value) < 2.0**52 else text


def _plain(value: Any, floats: list[str], float_text: Callable[[float], str | None]) -> Any:
    """`value` for json.dumps, each float a placeholder for the text the Go encoder gives it."""
    if isinstance(value, float):
        text = float_text(value)
        if text is None:
            return value
        floats.append(text)
        return f"\x00float:{len(floats) - 1}\x00"
    if isinstance(value, Mapping):
        return {strval(k): _plain(v, floats, float_text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, floats, float_text) for v in value]
    return value


def _json(value: Any, *, indent: int | str | None = None, escape_html: bool = True,
          float_text: Callable[[float], str | None] = _encoding_json_float) -> str:
    floats: list[str] = []
    text = json.dumps(_plain(value, floats, float_text), sort_keys=True, ensure_ascii=False, indent=indent,
                      separators=(",", ":") if indent is None else (",", ": "))
    if floats:
        text = re.sub(r'"\\u0000float:(\d+)\\u0000"', lambda m: floats[int(m.group(1))], text)
    if escape_html:  # encoding/json's default
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _gomplate_json(value: Any, indent: str | None = None) -> str:
    """Gomplate v3's `toJSON` / `toJSONPretty` (what Atmos registers under those names): keys
    sorted, `<`, `>` and `&` escaped, as encoding/json, but floats as ugorji's codec writes them."""
    return _json(value, indent=indent, float_text=_ugorji_float)


def _from_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # Sprig's fromJson swallows the error


def _atoi(text: str) -> int:
    try:
        return int(strval(text).strip())
    except ValueError:
        return 0


# Sprig: math ----------------------------------------------------------------------------------


def _div(a: Any, b: Any) -> int:
    a, b = _to_int(a), _to_int(b)
    if b == 0:
        raise FunctionError("div: integer divide by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient  # Go truncates toward zero


def _mod(a: Any, b: Any) -> int:
    a, b = _to_int(a), _to_int(b)
    if b == 0:
        raise FunctionError("mod: integer divide by zero")
    return a - b * _div(a, b)


def _round(value: Any, precision: Any, round_on: Any = 0.5) -> float:
    number, places, on = _to_float(value), _to_int(precision), _to_float(round_on)
    try:
        scale = 10.0 ** places
    except OverflowError:
        scale = math.inf
    if scale == 0 or math.isinf(scale):  # Go's float division gives NaN here, never a panic
        return math.nan
    digits = number * scale
    whole = math.trunc(digits)
    fraction = abs(digits - whole)
    if fraction >= on:
        whole += math.copysign(1, number)
    return whole / scale


def _mul(first: Any, *others: Any) -> int:
    result = _to_int(first)
    for other in others:
        result *= _to_int(other)
    return result


# Sprig: regular expressions (Go's RE2 syntax; the common subset is Python's too) -------------


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():  # Python's hints about future set syntax ([[, --): not the user's concern
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(pattern, re.ASCII)  # RE2's \w, \d, \s, \b are ASCII-only
    except re.error as exc:
        raise FunctionError(f"regular expression {pattern!r}: {exc}") from None


_GO_GROUP = re.compile(r"\$(?:\{(\w+)\}|(\w+)|(\$))")


def _regex_replace_all(pattern: str, text: str, replacement: str) -> str:
    regex = _regex(pattern)

    def expand(match: re.Match[str]) -> str:
        def group(ref: re.Match[str]) -> str:
            if ref.group(3):
                return "$"
            name = ref.group(1) or ref.group(2)
            try:
                found = match.group(int(name)) if name.isdigit() else match.group(name)
            except IndexError:  # Go expands an unknown group to ""
                return ""
            return found or ""

        return _GO_GROUP.sub(group, replacement)

    return regex.sub(expand, text)


def _regex_find_all(pattern: str, text: str, count: Any) -> list[str]:
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    limit = _to_int(count)
    return found if limit < 0 else found[:limit]


def _regex_split(pattern: str, text: str, count: Any) -> list[str]:
    limit = _to_int(count)
    if limit == 0:
        return []
    parts = _regex(pattern).split(text, maxsplit=0 if limit < 0 else limit - 1)
    return parts


def _input(rest: tuple[Any, ...]) -> str:
    """Gomplate's input, last after an optional count (`regexp.FindAll re [n] input`)."""
    if len(rest) not in (1, 2):
        raise FunctionError(f"takes a pattern, an optional count and the input, not {len(rest) + 1} arguments")
    return strval(rest[-1])


def _count(rest: tuple[Any, ...]) -> int:
    """Gomplate's optional count before the input: -1 = all."""
    return _to_int(rest[0]) if len(rest) == 2 else -1


_RE2_META = frozenset("\\.+*?()|[]{}^$")


def _quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta: a backslash before each of `\\.+*?()|[]{}^$` (Python's re.escape
    escapes more)."""
    return "".join("\\" + char if char in _RE2_META else char for char in text)


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except ValueError as exc:
        return str(exc)  # Sprig returns the error text


def _expandenv(environ: Mapping[str, str] | None) -> Callable[[str], str]:
    def expand(text: str) -> str:
        return re.sub(
            r"\$(?:\{([^}]*)\}|([A-Za-z0-9_]+))",
            lambda m: _environ(environ, m.group(1) if m.group(1) is not None else m.group(2)),
            text,
        )

    return expand


def _environ(environ: Mapping[str, str] | None, name: str) -> str:
    if environ is None:
        raise FunctionError("the environment is not available here (use !env in the stack manifest)")
    return environ.get(name, "")


def _getenv(environ: Mapping[str, str] | None, name: Any, *default: Any) -> str:
    """Gomplate's `getenv` / `env.Getenv NAME [DEFAULT]`: the default stands in for an unset or
    empty variable."""
    if len(default) > 1:
        raise FunctionError(f"getenv takes a name and an optional default, not {len(default) + 1} arguments")
    value = _environ(environ, strval(name))
    return value if value or not default else strval(default[0])


def environ_functions(environ: Mapping[str, str] | None) -> dict[str, Callable[..., Any]]:
    """Sprig's `env` / `expandenv` and Gomplate's `getenv` / `env.Getenv`, reading `environ` only
    (refused when it is None)."""
    getenv = partial(_getenv, environ)
    return {"env": lambda name: _environ(environ, _s(name)), "expandenv": _expandenv(environ),
            "getenv": getenv, "env.Getenv": getenv}


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Go builtins (`and`, `or` are evaluated lazily by the renderer)
    "not": lambda value: not truth(value),
    "len": _go_len,
    "index": _go_index,
    "slice": _go_slice,
    "print": go_sprint,
    "printf": lambda fmt, *args: go_sprintf(_s(fmt), *args),
    "println": lambda *args: " ".join(go_string(a) for a in args) + "\n",
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _ordered("lt", lambda a, b: a < b),
    "le": _ordered("le", lambda a, b: a <= b),
    "gt": _ordered("gt", lambda a, b: a > b),
    "ge": _ordered("ge", lambda a, b: a >= b),
    "urlquery": lambda *args: urllib.parse.quote_plus(go_sprint(*args), safe=""),
    # Sprig: strings
    "upper": lambda s: _s(s).upper(),
    "lower": lambda s: _s(s).lower(),
    "title": lambda s: _title(_s(s)),
    "untitle": lambda s: _untitle(_s(s)),
    "trim": lambda s: _s(s).strip(_GO_SPACE),
    "trimAll": lambda cutset, s: _s(s).strip(_s(cutset)),
    "trimPrefix": lambda prefix, s: _s(s).removeprefix(_s(prefix)),
    "trimSuffix": lambda suffix, s: _s(s).removesuffix(_s(suffix)),
    "trunc": lambda n, s: _trunc(n, _s(s)),
    "substr": lambda start, end, s: _substr(start, end, _s(s)),
    "replace": lambda old, new, s: _s(s).replace(_s(old), _s(new)),
    "repeat": lambda n, s: _s(s) * max(0, _to_int(n)),
    "contains": lambda sub, s: _s(sub) in _s(s),
    "hasPrefix": lambda prefix, s: _s(s).startswith(_s(prefix)),
    "hasSuffix": lambda suffix, s: _s(s).endswith(_s(suffix)),
    "quote": _quote,
    "squote": _squote,
    "cat": _cat,
    "indent": lambda n, s: _indent(n, _s(s)),
    "nindent": lambda n, s: "\n" + _indent(n, _s(s)),
    "nospace": lambda s: "".join(_s(s).split()),
    "snakecase": lambda s: _snake(_s(s), "_"),
    "kebabcase": lambda s: _snake(_s(s), "-"),
    "camelcase": lambda s: "".join(part[:1].upper() + part[1:] for part in _s(s).split("_")),
    "abbrev": lambda width, s: _abbrev(width, _s(s)),
    "typeOf": _type_of,
    "kindOf": _kind_of,
    # Sprig: lists
    "list": lambda *items: list(items),
    "first": _first,
    "last": _last,
    "rest": lambda value: _list(value, "rest")[1:],
    "initial": lambda value: _list(value, "initial")[:-1],
    "append": lambda value, item: [*_list(value, "append"), item],
    "push": lambda value, item: [*_list(value, "push"), item],
    "prepend": lambda value, item: [item, *_list(value, "prepend")],
    "concat": lambda *values: [item for value in values for item in _list(value, "concat")],
    "uniq": _uniq,
    "has": _has,
    "without": _without,
    "compact": lambda value: [item for item in _list(value, "compact") if not empty(item)],
    "sortAlpha": _sort_alpha,
    "reverse": lambda value: list(reversed(_list(value, "reverse"))),
    "join": lambda sep, value: _join(_s(sep), value),
    "split": lambda sep, s: _split(_s(sep), _s(s)),
    "splitList": lambda sep, s: _go_split(_s(s), _s(sep)),
    "toStrings": lambda value: [strval(v) for v in _list(value, "toStrings")],
    # Sprig: dicts
    "dict": _dict,
    "get": lambda value, key: _get(value, _s(key)),
    "hasKey": lambda value, key: _s(key) in _map(value, "hasKey"),
    "keys": _keys,
    "values": _values,
    "pick": _pick,
    "omit": _omit,
    "dig": _dig,
    # Gomplate v3 (Atmos registers it under Sprig: these are the ones Sprig does not replace)
    "strings.Title": lambda s: _cases_title(strval(s)),
    "strings.ToUpper": lambda s: strval(s).upper(),
    "strings.ToLower": lambda s: strval(s).lower(),
    "strings.TrimSpace": lambda s: strval(s).strip(_GO_SPACE),
    "strings.Trim": lambda cutset, s: strval(s).strip(_s(cutset)),
    "strings.TrimPrefix": lambda prefix, s: strval(s).removeprefix(_s(prefix)),
    "strings.TrimSuffix": lambda suffix, s: strval(s).removesuffix(_s(suffix)),
    "strings.ReplaceAll": lambda old, new, s: strval(s).replace(_s(old), _s(new)),
    "strings.Contains": lambda sub, s: _s(sub) in strval(s),
    "strings.HasPrefix": lambda prefix, s: strval(s).startswith(_s(prefix)),
    "strings.HasSuffix": lambda suffix, s: strval(s).endswith(_s(suffix)),
    "strings.Split": lambda sep, s: _go_split(strval(s), _s(sep)),
    "strings.Repeat": lambda n, s: strval(s) * max(0, _to_int(n)),
    "strings.Quote": lambda s: _go_quote(strval(s)),
    "strings.Squote": lambda s: "'" + strval(s).replace("'", "''") + "'",
    # Gomplate's regexp namespace (RE2 syntax; the input, last, is any value printed as text)
    "regexp.Find": lambda pattern, s: (m.group(0) if (m := _regex(_s(pattern)).search(strval(s))) else ""),
    "regexp.FindAll": lambda pattern, *rest: _regex_find_all(_s(pattern), _input(rest), _count(rest)),
    "regexp.Match": lambda pattern, s: _regex(_s(pattern)).search(strval(s)) is not None,
    "regexp.QuoteMeta": lambda s: _quote_meta(strval(s)),
    "regexp.Replace": lambda pattern, repl, s: _regex_replace_all(_s(pattern), strval(s), _s(repl)),
    "regexp.ReplaceLiteral": lambda pattern, repl, s: _regex(_s(pattern)).sub(lambda _m: _s(repl), strval(s)),
    "regexp.Split": lambda pattern, *rest: _regex_split(_s(pattern), _input(rest), _count(rest)),
    "replaceAll": lambda old, new, s: _s(s).replace(_s(old), _s(new)),
    "toUpper": lambda s: _s(s).upper(),
    "toLower": lambda s: _s(s).lower(),
    "conv.ToString": strval,
    # Atmos' own (pkg/templatefuncs)
    "collectKeys": _collect_keys,
    # Sprig: defaults and flow
    "default": _default,
    "empty": empty,
    "coalesce": _coalesce,
    "ternary": _ternary,
    "required": lambda message, value: _required(_s(message), value),
    "fail": lambda message: _fail(_s(message)),
    # Sprig: conversion
    "toString": strval,
    "toJson": lambda value: _json(value),
    "toRawJson": lambda value: _json(value, escape_html=False),
    "toPrettyJson": lambda value: _json(value, indent=2),
    # the must* ones return Go's error where the others panic: the same text here
    "mustToJson": lambda value: _json(value),
    "mustToRawJson": lambda value: _json(value, escape_html=False),
    "mustToPrettyJson": lambda value: _json(value, indent=2),
    "fromJson": lambda text: _from_json(_s(text)),
    # Gomplate v3's data namespace (Sprig has no function of these names)
    "toJSON": _gomplate_json,
    "data.ToJSON": _gomplate_json,
    "toJSONPretty": lambda indent, value: _gomplate_json(value, _s(indent)),
    "data.ToJSONPretty": lambda indent, value: _gomplate_json(value, _s(indent)),
    "atoi": _atoi,
    "int": _to_int,
    "int64": _to_int,
    "float64": _to_float,
    # Sprig: math (integers, as Sprig's cast.ToInt64)
    "add": lambda *values: sum(_to_int(v) for v in values),
    "add1": lambda value: _to_int(value) + 1,
    "sub": lambda a, b: _to_int(a) - _to_int(b),
    "mul": _mul,
    "div": _div,
    "mod": _mod,
    "max": lambda first, *others: max([_to_int(first), *(_to_int(o) for o in others)]),
    "min": lambda first, *others: min([_to_int(first), *(_to_int(o) for o in others)]),
    "floor": lambda value: float(math.floor(_to_float(value))),
    "ceil": lambda value: float(math.ceil(_to_float(value))),
    "round": _round,
    # Sprig: regular expressions
    "regexMatch": lambda pattern, s: _regex(_s(pattern)).search(_s(s)) is not None,
    "regexFind": lambda pattern, s: (m.group(0) if (m := _regex(_s(pattern)).search(_s(s))) else ""),
    "regexFindAll": lambda pattern, s, n: _regex_find_all(_s(pattern), _s(s), n),
    "regexReplaceAll": lambda pattern, s, repl: _regex_replace_all(_s(pattern), _s(s), _s(repl)),
    "regexReplaceAllLiteral": lambda pattern, s, repl: _regex(_s(pattern)).sub(
        lambda _m: _s(repl), _s(s)),
    "regexSplit": lambda pattern, s, n: _regex_split(_s(pattern), _s(s), n),
    # Sprig: encoding
    "b64enc": lambda s: base64.b64encode(_s(s).encode()).decode(),
    "b64dec": lambda s: _b64dec(_s(s)),
    "sha1sum": lambda s: hashlib.sha1(_s(s).encode()).hexdigest(),  # Sprig's sha1sum: a digest, not security
    "sha256sum": lambda s: hashlib.sha256(_s(s).encode()).hexdigest(),
}

FUNCTIONS = _FUNCTIONS  # name → function, but `and` / `or` (lazy, in the renderer) and the environ ones
SUPPORTED = frozenset({*_FUNCTIONS, "and", "or", "env", "expandenv", "getenv", "env.Getenv"})
