"""Reading manifests: each file parsed once with `yaml.CSafeLoader` and cached.

Scalars are typed as Go's yaml.v3 types them for Atmos (`yes`/`on`/`no` and dates stay strings,
`1e3` is a number), duplicate keys are errors, and the YAML functions become markers
(`EnvFunction`, `TerraformFunction`) or are refused with the file and line.
"""

from __future__ import annotations

import json
import posixpath
import re
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from stackflow.errors import ConfigError

from .aws_facts import is_aws_fact_tag, parse_aws_fact
from .key_delimiters import expand_key_delimiters
from .filetypes import FileTypeError, include_extension, parse_dotenv, parse_hcl_attributes, parse_json
from .model import ExecRef, StoreRef
from .source import SourceTree, normalize_relpath
from .merge import merge
from .query import QueryError, select
from .template_functions import go_string
from .templates import TemplateError, render
from .yaml_functions import (
    UNSET,
    AppendList,
    EnvFunction,
    FunctionArgsError,
    METADATA_READS,
    LiteralString,
    MetadataRead,
    RepoRoot,
    TemplateText,
    TerraformFunction,
    decode_template_text,
    parse_env_args,
    parse_output_expression,
    parse_terraform_args,
    split_default,
    tokenize,
    unquote,
)



def _implicit_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}

    def add(tag: str, pattern: str, first: list[str]) -> None:
        regexp = re.compile(pattern, re.X)
        for ch in first:
            table.setdefault(ch, []).append(("tag:yaml.org,2002:" + tag, regexp))

    add("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF"))
    add(
        "int",
        r"^(?:[-+]?(?:0|[1-9][0-9_]*)|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0o[0-7_]+|[-+]?0b[01_]+)$",
        list("-+0123456789"),
    )
    add(
        "float",
        r"""^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
               |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        list("-+0123456789."),
    )
    add("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
    add("merge", r"^(?:<<)$", ["<"])
    return table


class _ValueLoader(yaml.CSafeLoader):
    """CSafeLoader with yaml.v3 scalar typing, for a value's text (no YAML functions)."""

    yaml_implicit_resolvers = _implicit_resolvers()


def parse_value(text: str) -> Any:
    """`text` read as a YAML value as Atmos' yaml.v3 reads it (`8080` an int, `[a, b]` a list);
    a `ValueError` naming the problem when it is not YAML."""
    try:
        return yaml.load(text, Loader=_ValueLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).split("\n")[0]) from None


class _Loader(yaml.CSafeLoader):
    """CSafeLoader with yaml.v3 scalar typing, duplicate-key errors and Atmos YAML functions.

    Documents are built depth first so the key path is known when a YAML function is met: the
    manifest records which sections hold markers, and instances walk only those.
    """

    yaml_implicit_resolvers = _implicit_resolvers()
    reader: "ManifestReader"
    file: str
    markers: "Markers"
    path: list[Any]
    merged_pairs: dict[yaml.Node, int]  # mapping node → how many pairs in front came from `<<` merges

    def resolve(self, kind: Any, value: Any, implicit: tuple[bool, bool]) -> str:
        # The same plain scalars (`vars`, `components`, `true`…) recur in every manifest: their
        # tag depends on the text alone (no path resolvers), so the reader remembers it.
        if kind is yaml.ScalarNode and implicit[0]:
            tags = self.reader.plain_tags
            tag = tags.get(value)
            if tag is None:
                tag = tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)

    def construct_document(self, node: yaml.Node) -> Any:
        if self.reader.key_delimiter:
            expand_key_delimiters(node, self.reader.key_delimiter)
        self.deep_construct = True
        try:
            return self._construct(node)
        finally:
            self.constructed_objects = {}
            self.merged_pairs = {}
            self.recursive_objects = {}
            self.deep_construct = False

    def _construct(self, node: yaml.Node) -> Any:
        """`construct_object` for what manifests are made of (plain maps, lists, strings, numbers,
        booleans, nulls) without its generic dispatch; any other tag takes PyYAML's path."""
        tag = node.tag
        if tag == _STR and type(node) is yaml.ScalarNode:
            return node.value  # as `construct_yaml_str`; an immutable value needs no memo
        scalar = _SCALARS.get(tag)
        if scalar is not None and type(node) is yaml.ScalarNode:
            return scalar(self, node)
        if (tag == _MAP and type(node) is yaml.MappingNode) or (tag == _SEQ and type(node) is yaml.SequenceNode):
            built = self.constructed_objects
            if node in built:  # an alias
                return built[node]
            building = self.recursive_objects
            if node in building:
                raise yaml.constructor.ConstructorError(
                    None, None, "found unconstructable recursive node", node.start_mark
                )
            building[node] = None
            value: Any = self.construct_mapping(node) if tag == _MAP else [self._construct(n) for n in node.value]
            built[node] = value
            del building[node]
            return value
        return self.construct_object(node, deep=True)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """`<<` merges as yaml.v3 reads them (not with PyYAML's, whose order changed in 6.0.4).

        The merged maps' pairs go in front of the node's own, the first map listed last, so that
        it gives a key several of them have; `construct_mapping` lets the node's own keys override
        them. How many pairs that is is remembered: a node merged into another is flattened then,
        and built later with those pairs already in place.
        """
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                break
        else:
            return
        sources: list[yaml.MappingNode] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                own.append((key_node, value_node))
                continue
            for source in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"'<<' merges a mapping or a list of mappings, not a {source.id}",
                        source.start_mark)
                self.flatten_mapping(source)
                sources.append(source)
        merged = [pair for source in reversed(sources) for pair in source.value]
        node.value = merged + own
        self.merged_pairs[node] = len(merged)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        merged = self.merged_pairs.get(node, 0) if self.merged_pairs else 0
        if not merged:
            return self._own_pairs(node.value, mapping, _NO_KEYS)
        # As yaml.v3: the mapping's own keys override merged ones (no duplicates), and of several
        # merged maps the first that has a key gives it (`flatten_mapping` lists its pairs last)
        for key_node, value_node in node.value[:merged]:
            key = self._construct(key_node)
            key = _go_key(key) if type(key) in _KEY_SCALARS else key
            self.path.append(key)
            mapping[key] = self._construct(value_node)
            self.path.pop()
        return self._own_pairs(node.value[merged:], mapping, frozenset(mapping))

    def _own_pairs(self, pairs: list[tuple[yaml.Node, yaml.Node]], mapping: dict[Any, Any],
                   merged: frozenset[Any]) -> dict[Any, Any]:
        """`mapping` with a mapping node's own `pairs`: a key written twice is an error, one that
        overrides a `merged` key is not."""
        stringified: dict[str, tuple[type, Any]] | None = None
        for key_node, value_node in pairs:
            key = self._construct(key_node)
            if type(key) in _KEY_SCALARS:
                # Atmos' merge (normalizeMapReflect, 1.222) makes every key a string, as Go's %v
                # prints it: `1: x` is the key "1", and meets a quoted "1" as the same key
                original = (type(key), key)
                key = _go_key(key)
                stringified = stringified or {}
                if stringified.get(key) == original:  # the same key twice, as written
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                stringified[key] = original
            try:
                seen = key in mapping
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from None
            if seen and key in merged:
                merged = merged - {key}  # overridden once; written again, it is a duplicate
                seen = False
            if seen:
                if stringified is None or key not in stringified:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                self.path.append(key)
                value = self._construct(value_node)
                self.path.pop()
                if type(value) is not dict or type(mapping[key]) is not dict:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"keys that Atmos reads as the same string {key!r} are not both maps, so "
                        "they cannot be merged (quote the key)", key_node.start_mark)
                mapping[key] = merge(mapping[key], value)
                continue
            self.path.append(key)
            mapping[key] = self._construct(value_node)
            self.path.pop()
        return mapping


def _go_key(key: Any) -> str:
    """A scalar map key as Go's `%v` prints it (`1`, `1.5`, `1e+06`, `true`, `<nil>`)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return go_string(key)
    return "<nil>" if key is None else str(key)


_KEY_SCALARS = (int, float, bool, type(None))
_NO_KEYS: frozenset[Any] = frozenset()


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALARS = {
    "tag:yaml.org,2002:" + name: getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{name}")
    for name in ("int", "bool", "null", "float")
}


def _function(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    tag = "!" + suffix
    line = node.start_mark.line + 1
    where = f"{loader.file}:{line}"
    if suffix == "append":  # Atmos' rewriteAppendNode: a list appended when merged; elsewhere no-op
        if not isinstance(node, yaml.SequenceNode):
            return _untagged(loader, node)
        loader.markers.append = loader.reader.appends = True
        return AppendList([loader._construct(item) for item in node.value])
    if suffix == "unset":  # text, merged as any value, removed once the instance is resolved
        if not isinstance(node, yaml.ScalarNode):
            return _untagged(loader, node)  # Atmos sets the text of a scalar only: a map or list stays
        loader.markers.unset = True
        return f"{UNSET} {str(node.value).strip()}".strip()
    if is_aws_fact_tag(suffix):  # `!aws.account_id`…: no arguments; asked of AWS when the instance runs
        if not isinstance(node, yaml.ScalarNode):
            raise ConfigError(f"{where}: {tag} takes no arguments, not a {node.id}")
        try:
            return parse_aws_fact(suffix, str(node.value), loader.file, line)
        except FunctionArgsError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if suffix in METADATA_READS:  # Atmos matches the bare tag only: anything after it is not the function
        if not isinstance(node, yaml.ScalarNode) or str(node.value).strip():
            raise ConfigError(f"{where}: {tag} takes no arguments (it reads the component's own "
                              f"metadata.{suffix.split('.')[0]})")
        loader.markers.metadata_reads = True
        return MetadataRead(suffix, loader.file, line)
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(f"{where}: {tag} takes a string argument, not a {node.id}")
    if suffix == "repo-root":
        if not loader.reader.cli_config:
            raise ConfigError(f"{where}: !repo-root is supported in atmos.yaml only (in a stack manifest it would "
                              "put this machine's path into the values)")
        return RepoRoot()  # the repository the loader reads is the root Atmos finds with git
    if suffix == "literal":
        return LiteralString(node.value)  # as written: not stripped, never rendered
    args = str(node.value).strip()
    reader = loader.reader
    try:
        if suffix == "env":
            name, default = parse_env_args(args)
            loader.markers.env.add(section_of(loader.path))
            return EnvFunction(name, default, loader.file, line)
        if suffix in ("terraform.output", "terraform.state"):
            if "{{" not in args:  # templated stacks are checked once rendered, per instance
                _, _, expression = parse_terraform_args(args)
                parse_output_expression(split_default(expression)[0])
            loader.markers.add_terraform(loader.path)
            return TerraformFunction(suffix, args, loader.file, line)
        if suffix in ("include", "include.raw"):
            return reader.include(args, loader, line, raw=suffix == "include.raw")
    except FunctionArgsError as exc:
        raise ConfigError(f"{where}: {tag}: {exc}") from None
    if suffix == "exec":
        if not reader.allow_exec:
            raise ConfigError(
                f"{where}: !exec is refused: it runs a command from the repository (set STACKFLOW_ALLOW_EXEC=true "
                "to let runs execute it as the instance starts)"
            )
        if not args:
            raise ConfigError(f"{where}: !exec needs a command")
        loader.markers.run_time = True
        return ExecRef(args, loader.file)
    if suffix == "template":  # as Atmos: JSON now when it holds no template, else once rendered
        return TemplateText(args) if "{{" in args else decode_template_text(args)
    if suffix in ("store", "store.get", "secret"):
        if not args:
            raise ConfigError(f"{where}: {tag} needs arguments")
        loader.markers.run_time = True
        return StoreRef(suffix, args, loader.file, line)  # type: ignore[arg-type]
    raise ConfigError(
        f"{where}: YAML function {tag} is not supported (supported: !append, !env, !include, !include.raw, "
        "!labels, !labels.keys, !labels.values, !literal, !tags, !template, !terraform.output, !terraform.state, !unset, !repo-root in atmos.yaml, and, kept as written until "
        "the instance runs, "
        "!store / !store.get / !secret and !aws.account_id / !aws.caller_identity_arn / "
        "!aws.caller_identity_user_id / !aws.region / !aws.organization_id)"
    )


def _untagged(loader: _Loader, node: yaml.Node) -> Any:
    """`node` read as if it had no tag, as yaml.v3 decodes a node whose tag Atmos cleared."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return [loader._construct(item) for item in node.value]
    plain = not node.style  # None, or "" from the C parser
    tag = loader.resolve(yaml.ScalarNode, node.value, (plain, not plain))
    return loader._construct(yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style))


_Loader.add_multi_constructor("!", _function)


ALL_SECTIONS = "*"  # markers may be anywhere (e.g. behind a YAML alias)


def section_of(path: list[Any]) -> str:
    """The component section a manifest key path feeds: `terraform.backend.s3.bucket` → `backend`."""
    if not path:
        return ALL_SECTIONS
    head = path[0]
    if head == "terraform":
        rest = path[1:]
    elif head == "components":
        if len(path) < 4 or path[1] != "terraform":
            return "other"
        rest = path[3:]
    else:
        rest = path
    if rest and rest[0] == "overrides":
        rest = rest[1:]
    return str(rest[0]) if rest else ALL_SECTIONS


def vars_key_of(path: list[Any]) -> tuple[str, Any] | None:
    """(component or `*` for every component, top-level vars key) that a key path sets."""
    if len(path) >= 2 and path[0] == "vars":
        return "*", path[1]
    if len(path) >= 3 and path[0] in ("terraform", "overrides") and path[1] == "vars":
        return "*", path[2]
    if len(path) >= 4 and path[0] == "terraform" and path[1] == "overrides" and path[2] == "vars":
        return "*", path[3]
    if len(path) >= 5 and path[0] == "components" and path[1] == "terraform" and path[3] == "vars":
        return str(path[2]), path[4]
    if len(path) >= 6 and path[0] == "components" and path[3] == "overrides" and path[4] == "vars":
        return str(path[2]), path[5]
    return None


@dataclass
class Markers:
    """Sections (`vars`, `backend`, …) holding `!env` / `!terraform.*` markers, and templates.

    For `!terraform.*` in vars, also which top-level vars keys of which components (`*`: any).
    `append`: the data may hold `!append` lists (`AppendList`) still to settle; `unset`: some
    text holds `!unset` (values Atmos removes once the component's sections are resolved).
    """

    env: set[str] = field(default_factory=set)
    terraform: set[str] = field(default_factory=set)
    terraform_vars: set[tuple[str, Any]] = field(default_factory=set)
    templates: bool = False
    append: bool = False
    unset: bool = False
    metadata_reads: bool = False  # `!tags` / `!labels`…: filled once the instance's metadata is final
    run_time: bool = False  # `!store` / `!exec`: kept for the run, but merged as Atmos merges YAML functions
    # templates left for the component stage that read `.locals`: why the file's locals did not
    # render them (`locals.py`), for the error if the component's own locals lack the name either
    deferred_locals: dict[str, str] = field(default_factory=dict)

    def add_terraform(self, path: list[Any]) -> None:
        section = section_of(path)
        self.terraform.add(section)
        if section == "vars":
            key = vars_key_of(path)
            self.terraform_vars.add(key if key is not None else ("*", ALL_SECTIONS))

    def update(self, other: "Markers", where: list[Any] | None = None) -> None:
        """Add `other`'s markers, or, when it was included at key path `where`, mark that place."""
        if where is None:
            self.env |= other.env
            self.terraform |= other.terraform
            self.terraform_vars |= other.terraform_vars
        else:
            if other.env:
                self.env.add(section_of(where))
            if other.terraform:
                self.add_terraform(where)
        self.templates = self.templates or other.templates
        self.append = self.append or other.append
        self.unset = self.unset or other.unset
        self.metadata_reads = self.metadata_reads or other.metadata_reads
        self.run_time = self.run_time or other.run_time
        if other.deferred_locals:
            self.deferred_locals.update(other.deferred_locals)


@dataclass
class Manifest:
    """One parsed file: its data and which deferred things it contains."""

    path: str  # repo-relative
    data: Any
    markers: Markers
    mentions_locals: bool = False  # its text has the word `locals` (see `locals.FileScope`)


class ManifestReader:
    """Parses repo files once (per import context) and caches them."""

    def __init__(
        self,
        tree: SourceTree,
        environ: Mapping[str, str],
        *,
        base_path: str = "",
        allow_exec: bool = False,
        cli_config: bool = False,
        key_delimiter: str = "",
    ) -> None:
        self.tree = tree
        self.key_delimiter = key_delimiter  # atmos.yaml settings.yaml.key_delimiter ("" = none)
        self.environ = environ
        self.base_path = base_path
        self.allow_exec = allow_exec
        self.cli_config = cli_config  # reading atmos.yaml (and its imports), not stack manifests
        self._cache: dict[tuple[str, str], Manifest] = {}
        self.plain_tags: dict[str, str] = {}  # plain scalar text -> its implicit tag (`_Loader.resolve`)
        self.parsed_files = 0  # distinct parses, for tests and benchmarks
        self.appends = False  # some file read has an `!append` list (`AppendList`s may need settling)
        self._including: list[str] = []

    def read(
        self, path: str, context: Mapping[str, Any] | None = None, *, keep_missing: bool = False
    ) -> Manifest:
        """Parse `path` (repo-relative); with an import `context`, render its `{{ .x }}` first.

        `FileNotFoundError` if the file does not exist.
        """
        key = (path, (_context_key(context) + ("?" if keep_missing else "")) if context else "")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        raw = self.tree.read_bytes(path)
        source: bytes | str = raw
        if context:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
            if "{{" in text:
                try:
                    text = render(text, context, scalar=self._context_scalar, keep_missing=keep_missing,
                                  environ=self.environ)
                except TemplateError as exc:
                    raise ConfigError(f"{path}: {exc} (import context: {sorted(context)})") from None
            source = text
            has_templates = "{{" in text
        else:
            has_templates = b"{{" in raw
        data, markers = self._parse(path, source)
        self.parsed_files += 1
        markers.templates = markers.templates or has_templates
        if b"!unset" in raw or (isinstance(source, str) and "!unset" in source):  # tagged, quoted or templated
            markers.unset = True
        if (markers.env or markers.terraform) and (b"&" in raw or b"<<" in raw):
            # anchors and aliases share one marker between key paths: look everywhere
            markers.env = {ALL_SECTIONS} if markers.env else set()
            markers.terraform = {ALL_SECTIONS} if markers.terraform else set()
        manifest = Manifest(path, data, markers, b"locals" in raw)
        self._cache[key] = manifest
        return manifest

    def _parse(self, path: str, source: bytes | str) -> tuple[Any, Markers]:
        loader = _Loader(source)
        loader.reader = self
        loader.file = path
        loader.markers = Markers()
        loader.path = []
        loader.merged_pairs = {}
        try:
            return loader.get_single_data(), loader.markers
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
            raise ConfigError(f"{path}{line}: invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
        finally:
            loader.dispose()

    def _context_scalar(self, value: Any) -> Any:
        if isinstance(value, EnvFunction):
            return self.environ.get(value.name, value.default or "")
        return value

    # `!include`
    def include(self, args: str, loader: _Loader, line: int, *, raw: bool) -> Any:
        manifest = loader.file
        where = f"{manifest}:{line}"
        tokens = tokenize(args)
        if not tokens:
            raise ConfigError(f"{where}: !include needs a path")
        target = unquote(tokens[0].value)
        query = unquote(args[tokens[1].offset :]) if len(tokens) > 1 else ""
        if "://" in target or "::" in target:
            raise ConfigError(f"{where}: !include {target!r}: remote includes are not supported")
        path = self._include_path(target, manifest, where)
        if path in self._including:
            chain = " → ".join([*self._including, path])
            raise ConfigError(f"{where}: !include cycle: {chain}")
        try:
            content = self.tree.read_bytes(path)
        except FileNotFoundError:
            raise ConfigError(f"{where}: !include {target!r}: file {path} not found") from None
        self._including.append(path)
        try:
            value = self._include_value(path, content, raw, where, loader)
        finally:
            self._including.pop()
        if query:
            value = _query(value, query, where)
        return value

    def _include_path(self, target: str, manifest: str, where: str) -> str:
        try:
            if target.startswith(("./", "../")):
                return normalize_relpath(posixpath.join(posixpath.dirname(manifest), target))
            candidate = normalize_relpath(posixpath.join(self.base_path, target))
            if self.base_path and not self.tree.is_file(candidate) and self.tree.is_file(target):
                return normalize_relpath(target)
            return candidate
        except ConfigError as exc:
            raise ConfigError(f"{where}: !include: {exc}") from None

    def _include_value(self, path: str, content: bytes, raw: bool, where: str, loader: _Loader) -> Any:
        """The included file's value, parsed by its extension as Atmos does (`!include.raw`: text)."""
        ext = include_extension(path)
        if b"{{" in content:  # rendered with the instance, like the rest of its manifest
            loader.markers.templates = True
        if b"!unset" in content:  # text Atmos removes once resolved, wherever it comes from
            loader.markers.unset = True
        if ext in (".yaml", ".yml") and not raw:
            included = self.read(path)
            loader.markers.update(included.markers, list(loader.path))
            return included.data
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: !include {path}: not UTF-8 text") from None
        try:
            if raw:
                return text
            if ext == ".json":
                return parse_json(text)
            if ext in (".hcl", ".tf", ".tfvars"):
                return parse_hcl_attributes(text)
            if ext == ".env":
                return parse_dotenv(text, self.environ)
        except FileTypeError as exc:
            raise ConfigError(f"{where}: !include {path}: {exc}") from None
        return text


def _context_key(context: Mapping[str, Any] | None) -> str:
    return json.dumps(context or {}, sort_keys=True, default=str)


def _query(value: Any, query: str, where: str) -> Any:
    """The simple `.a.b[0]` subset of yq for `!include path query`; no match is an error."""
    try:
        found = select(value, query, missing=_NO_MATCH)
    except QueryError as exc:  # names the steps it takes, as describe --query does
        raise ConfigError(f"{where}: !include {exc}") from None
    if found is _NO_MATCH:
        raise ConfigError(f"{where}: !include query {query!r} matches nothing")
    return found


_NO_MATCH = object()


def parse_terraform_function(
    function: TerraformFunction, args: str
) -> tuple[str, str | None, str, str, str | None]:
    """(component, stack or None, output, path, default as JSON or None) from a `!terraform.*`
    marker's rendered args."""
    try:
        return _terraform_args(args)
    except FunctionArgsError as exc:
        raise ConfigError(f"{function.file}:{function.line}: !{function.function}: {exc}") from None


@lru_cache(maxsize=8192)
def _terraform_args(args: str) -> tuple[str, str | None, str, str, str | None]:
    component, stack, expression = parse_terraform_args(args)
    expression, default = split_default(expression)
    output, path = parse_output_expression(expression)
    return component, stack, output, path, default
