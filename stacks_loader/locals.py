"""Atmos' file-scoped `locals`, resolved as Atmos' code resolves them (`pkg/locals/resolver.go`,
`internal/exec/stack_processor_locals.go`, `extractAndAddLocalsToContext` and
`processYAMLConfigFileWithContextInternal` in `stack_processor_utils.go`).

What Atmos does, per stack manifest, before its imports are merged:

1. Scopes. `locals:` at the top of a file, and `locals:` under `terraform:` (also `helmfile:`,
   `packer:`), which starts from the top-level ones and overrides them key by key. Each must be a
   map (a null `locals:` is an error). A local's templates see `.locals` (those resolved so far)
   and the file's own top-level `settings`, `vars`, `env` as written; in the `terraform:` scope
   those are shallow-merged with `terraform.settings/vars/env`. Nothing else: not the import
   context, not what imported files define (`.settings` when only an import has settings is an
   error). `components.terraform.<c>.locals` are not a scope of this resolver: they are values of
   the file like any other (rendered in step 4), then inherited like vars (base first), shown as
   the component's `locals` in describe output, and read by templates left for the component.
2. Order. A local depends on the `.locals.X` fields its templates read (in maps and lists too);
   Kahn's algorithm, always taking the alphabetically first ready local. A cycle is an error
   naming it (`a → b → a`, found by depth-first search from the sorted names); so is reading a
   local defined nowhere, or any field the context lacks (`missingkey=error`). These errors fail
   the file.
3. Values. A string without `{{` is kept. A string that is exactly one field reference
   (`{{ .locals.tags }}`, `{{ .vars.cidrs }}`) takes the referenced value as is, so maps, lists,
   numbers and booleans survive. Other templates render to text (Sprig and Go builtins). YAML
   functions run first: `!env` reads the process environment at load time; `!terraform.state` /
   `!terraform.output` read state at load time, the two-argument form in the stack Atmos derives
   from this file alone (its `name:`, else `stacks.name_template` / `name_pattern` over its own
   vars, else the file path without extension); `!exec` runs. Keys are not rendered.
4. The file's own templates. Once a file has a locals section (even `locals: {}`), Atmos renders
   it at load time with the context: the import context (without any `locals` key), `.locals`
   (top-level, then the `terraform`, `helmfile`, `packer` scopes flattened in that order, later
   keys winning, so a helmfile local shadows a terraform one for terraform components too), and
   the file's `settings`, `vars`, `env`, each rendered in that order with the locals and the
   sections before it (a section with a template that cannot render there is kept as written).
   Then the whole file, locals sections included: every value that is exactly one field
   reference found in the context is replaced by the value, then every template is rendered. If
   all render, the file is used rendered. If one fails (it reads `.atmos_component`, a var of an
   imported file…), Atmos keeps only the replaced single references and leaves every other
   template of the file to the component stage, where `.locals` is undefined and prints
   `<no value>`; with an import context, a failure is an error instead. The file's top-level
   settings/vars/env are then the section step's.
5. Never across files, never in output. Imported files' locals are not visible to the importer,
   nor the importer's to its imports: a template reading such a local reaches the component stage
   and renders `<no value>`. File-level locals are part of no component. An import with
   `skip_templates_processing` skips all of this for that file.

What stackflow does: the same (1-5), and component-level `locals` as Atmos: merged base first
(no globals, no overrides), shown as the component's `locals` by describe, and the `.locals` of
every template that reaches the component stage. There, a template reading a name the
component's locals lack (a local of another file, one not defined, or one Atmos leaves
unrendered because another template of the file cannot render at file scope) is a one-line
`ConfigError` naming the file, stack, component and field, with the reason noted here at file
scope (`Markers.deferred_locals`), where Atmos would print `<no value>`. Also refused: a
`!terraform.*`, `!env` or `!exec` value printed into text at file scope (used whole,
`!terraform.*` / `!exec` stay functions resolved per instance, in the stack Atmos reads); a
template stackflow cannot render at file scope for a reason other than a missing value.
Rendered values stay strings (Atmos re-reads the rendered file as YAML, which can retype a plain
scalar such as `1{{ .locals.zero }}`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig
from .manifests import Manifest, ManifestReader, Markers, section_of
from .model import AwsFact, ExecRef, StoreRef
from .naming import context_from_vars, manifest_stem
from .templates import TemplateError, render, root_fields
from .yaml_functions import (
    AppendList,
    EnvFunction,
    FunctionArgsError,
    MetadataRead,
    TerraformFunction,
    parse_terraform_args,
    tokenize,
)

LOCALS = "locals"
SCOPES = ("terraform", "helmfile", "packer")  # sections with their own `locals` (Atmos order)
_SECTIONS = ("settings", "vars", "env")  # what a file's locals (and its file pass) see of it
_SPACE = "[ \t\r\n]"
# one action that is one field chain, alone but for spaces (Atmos `ExtractPlainFieldRef`)
_PLAIN_REF = re.compile(
    rf"{_SPACE}*\{{\{{(?:-{_SPACE})?{_SPACE}*((?:\.[^\W\d]\w*)+){_SPACE}*(?:{_SPACE}-)?\}}\}}{_SPACE}*\Z"
)
# `.locals` / `.locals.name` read from the root of the data (not `$x.locals`, `(…).locals`)


@dataclass(frozen=True)
class _Failure:
    """A template that cannot render at file scope because it reads something undefined."""

    field: str
    text: str
    reason: str


class _Missing(Exception):
    """Raised inside a pass: a template reads an undefined value (Atmos' `missingkey=error`)."""

    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class FileScope:
    """Reads stack manifests for the importer, applying each file's `locals` as Atmos does."""

    def __init__(self, reader: ManifestReader, atmos: AtmosConfig) -> None:
        self.reader = reader
        self.atmos = atmos
        self._cache: dict[tuple[str, str, bool, bool], Manifest] = {}

    def read(
        self,
        path: str,
        stack_path: str,
        context: Mapping[str, Any] | None,
        *,
        keep_missing: bool = False,
        skip_templates: bool = False,
    ) -> Manifest:
        """The manifest at repo-relative `path` (`stack_path`: relative to the stacks base path).

        `FileNotFoundError` if it does not exist.
        """
        reader = self.reader
        if skip_templates:  # Atmos resolves no locals and renders nothing here
            manifest = reader.read(path)
            if not manifest.mentions_locals:
                return manifest
            return self._cached((path, "", False, True), lambda: self._without_locals(manifest))
        if not context:
            manifest = reader.read(path)
            if not manifest.mentions_locals:
                return manifest
        elif b"locals" not in reader.tree.read_bytes(path):
            return reader.read(path, context, keep_missing=keep_missing)
        else:
            try:
                manifest = reader.read(path)
            except ConfigError:  # a template file that is YAML only once rendered: Atmos skips its locals
                return reader.read(path, context, keep_missing=keep_missing)
        key = (path, json.dumps(context, sort_keys=True, default=str) if context else "", keep_missing, False)
        return self._cached(key, lambda: self._apply(manifest, stack_path, context or {}, keep_missing))

    def _cached(self, key: tuple[str, str, bool, bool], build: Callable[[], Manifest]) -> Manifest:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = build()
        return cached

    def _without_locals(self, manifest: Manifest) -> Manifest:
        """A file whose `locals` Atmos does not resolve: its templates must not read any."""
        data = manifest.data
        if not isinstance(data, dict):
            return manifest
        data = _strip_locals(data)
        notes = _deferred_locals(data, None)
        if data is manifest.data and not notes:
            return manifest
        markers = manifest.markers
        if notes:
            markers = Markers()
            markers.update(manifest.markers)
            markers.deferred_locals.update(notes)
        return Manifest(manifest.path, data, markers)

    def _apply(
        self, manifest: Manifest, stack_path: str, import_context: Mapping[str, Any], keep_missing: bool
    ) -> Manifest:
        path, raw = manifest.path, manifest.data
        if not isinstance(raw, dict) or not _has_locals(raw):
            checked = self._without_locals(manifest)
            if not import_context:
                return checked
            return self.reader.read(path, import_context, keep_missing=keep_missing)
        environ = self.reader.environ
        file_locals = resolve_file_locals(raw, path, environ, lambda: self._atmos_stack(raw, stack_path))
        markers = Markers()
        markers.update(manifest.markers)
        file_pass = _Pass(path, environ, markers)

        # the context: the import context, the locals, then settings/vars/env rendered in turn,
        # each seeing the ones before it
        context: dict[str, Any] = {k: v for k, v in import_context.items() if k != LOCALS}
        context[LOCALS] = file_locals
        base = dict(context)
        section_failures: dict[str, _Failure] = {}
        for index, name in enumerate(_SECTIONS):
            section = raw.get(name)
            if not isinstance(section, dict):
                continue
            seen = dict(base)
            for earlier in _SECTIONS[:index]:
                if isinstance(context.get(earlier), dict):
                    seen[earlier] = context[earlier]
            context[name], failure = file_pass.section(section, seen, name)
            if failure is not None:
                section_failures[name] = failure

        # the whole file: single references replaced, then every template, all or nothing
        substituted = file_pass.substitute(raw, context, [])
        rendered, failure = file_pass.render_all(substituted, context, keep_missing)
        if failure is not None and import_context:
            raise ConfigError(f"{path}: {failure.field}: {failure.reason} (import context: {sorted(import_context)})")
        data = dict(_strip_locals(rendered if failure is None else substituted))
        for name in _SECTIONS:  # top-level settings/vars/env as the section step left them
            value = context.get(name)
            if isinstance(value, dict) and value:
                data[name] = value
        markers.deferred_locals.update(_deferred_locals(data, file_locals, failure, section_failures))
        return Manifest(path, data, markers)

    def _atmos_stack(self, data: dict[str, Any], stack_path: str) -> str:
        """The stack Atmos reads a local's two-argument `!terraform.*` in: derived from this file
        alone (`deriveStackNameForLocals`): `name:`, `name_template`, `name_pattern`, file name."""
        name = data.get("name")
        if isinstance(name, str) and name:
            return name
        vars_ = data.get("vars") if isinstance(data.get("vars"), dict) else {}
        atmos = self.atmos
        if atmos.name_template:
            try:
                text = render(atmos.name_template, {"vars": vars_}, _no_functions, environ=self.reader.environ)
            except TemplateError:
                text = ""
            if text and "{{" not in text and "}}" not in text:
                return text
        if atmos.name_pattern:
            context = context_from_vars(vars_)
            parts = [context.get(part.strip("{}"), "") for part in atmos.name_pattern.split("-")]
            if all(parts):
                return "-".join(parts)
        return manifest_stem(stack_path)


def resolve_file_locals(
    data: dict[str, Any],
    path: str,
    environ: Mapping[str, str],
    atmos_stack: Callable[[], str] = lambda: "",
) -> dict[str, Any]:
    """The file's locals as its templates see them (`.locals`): the top-level scope, then the
    `terraform` / `helmfile` / `packer` ones (each starting from the top-level one), flattened."""
    context = {name: data[name] for name in _SECTIONS if isinstance(data.get(name), dict)}
    top: dict[str, Any] = {}
    if LOCALS in data:
        top = _Resolver(path, LOCALS, environ, atmos_stack).resolve(data[LOCALS], {}, context)
    flat = dict(top)
    for scope in SCOPES:
        section = data.get(scope)
        if not isinstance(section, dict) or LOCALS not in section:
            continue
        scoped = dict(context)
        for name in _SECTIONS:
            if isinstance(section.get(name), dict):
                scoped[name] = {**(context.get(name) or {}), **section[name]}
        resolver = _Resolver(path, f"{scope}.{LOCALS}", environ, atmos_stack)
        flat.update(resolver.resolve(section[LOCALS], top, scoped))
    return flat


class _Resolver:
    """One scope's locals in dependency order (Atmos `locals.Resolver`)."""

    def __init__(self, path: str, field: str, environ: Mapping[str, str], atmos_stack: Callable[[], str]) -> None:
        self.path = path
        self.field = field
        self.environ = environ
        self.atmos_stack = atmos_stack

    def resolve(self, raw: Any, parent: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            kind = "null" if raw is None else type(raw).__name__
            raise ConfigError(f"{self.path}: '{self.field}' must be a mapping, not {kind}")
        for name in raw:
            if not isinstance(name, str):
                raise ConfigError(f"{self.path}: '{self.field}': local name {name!r} is not a string")
        deps = {name: [d for d in dict.fromkeys(_dependencies(value)) if d in raw] for name, value in raw.items()}
        resolved = dict(parent)
        data = {**context, LOCALS: resolved}
        for name in _topological(deps, self.path, self.field):
            resolved[name] = self._value(raw[name], data, f"{self.field}.{name}")
        return resolved

    def _value(self, value: Any, data: dict[str, Any], field: str) -> Any:
        kind = type(value)
        if kind is dict:
            return {k: self._value(v, data, f"{field}.{k}") for k, v in value.items()}
        if kind is list or kind is AppendList:
            items = [self._value(v, data, f"{field}[{i}]") for i, v in enumerate(value)]
            return items if kind is list else AppendList(items)
        if kind is str:
            return self._string(value, data, field)
        if isinstance(value, EnvFunction):  # read when the file is loaded, from the process
            return self.environ.get(value.name, value.default or "")
        if isinstance(value, TerraformFunction):
            return self._terraform(value, field)
        return value  # numbers, booleans, null, `!literal` text, `!exec`

    def _string(self, text: str, data: dict[str, Any], field: str) -> Any:
        if "{{" not in text:
            return text
        ref = _plain_ref(text)
        if ref is not None:
            found, value = _lookup(data, ref)
            if found:
                return value
        try:
            return render(text, data, _no_functions, environ=self.environ)
        except TemplateError as exc:
            known = ", ".join(sorted(data[LOCALS])) or "none"
            raise ConfigError(f"{self.path}: {field}: {exc} (locals resolved so far: {known})") from None

    def _terraform(self, marker: TerraformFunction, field: str) -> TerraformFunction:
        where = f"{self.path}:{marker.line}: {field}: !{marker.function}"
        if "{{" in marker.args:
            raise ConfigError(f"{where}: templates in its arguments are not rendered in locals (Atmos runs "
                              "YAML functions in locals before any template)")
        try:
            tokens = tokenize(marker.args)
            _, stack, _ = parse_terraform_args(marker.args)
        except FunctionArgsError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if stack is not None:
            return marker
        # two arguments: Atmos reads it in the stack it derives from this file alone
        stack = self.atmos_stack()
        if "{{" in stack:
            raise ConfigError(f"{where}: Atmos reads it in stack {stack!r}, derived from this file's vars as "
                              "written (templates unrendered); name the stack (three arguments)")
        at = tokens[1].offset
        args = f"{marker.args[:at]}{stack} {marker.args[at:]}"
        return TerraformFunction(marker.function, args, marker.file, marker.line)


def _topological(deps: dict[str, list[str]], path: str, field: str) -> list[str]:
    """Kahn's algorithm taking the alphabetically first ready local, as Atmos; a cycle is an error."""
    waiting = {name: len(d) for name, d in deps.items()}
    ready = sorted(name for name, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for other, needs in deps.items():
            for dep in needs:
                if dep == name:
                    waiting[other] -= 1
                    if waiting[other] == 0:
                        ready.append(other)
        ready.sort()
    if len(order) != len(deps):
        raise ConfigError(f"{path}: '{field}': circular dependency: {' → '.join(_cycle(deps))}")
    return order


def _cycle(deps: dict[str, list[str]]) -> list[str]:
    """The first cycle a depth-first search from the sorted names meets (Atmos `findCycle`)."""
    visited: set[str] = set()
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        visited.add(name)
        stack.append(name)
        for dep in deps[name]:
            if dep in stack:
                return [*stack[stack.index(dep):], dep]
            if dep not in visited:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        return None

    for name in sorted(deps):
        if name not in visited:
            found = visit(name)
            if found:
                return found
    return sorted(deps)  # pragma: no cover - a failed sort always has a cycle


class _Pass:
    """Atmos' load-time rendering of one file: single references replaced, then templates."""

    def __init__(self, path: str, environ: Mapping[str, str], markers: Markers) -> None:
        self.path = path
        self.environ = environ
        self.markers = markers

    def section(self, section: dict[str, Any], data: dict[str, Any], name: str) -> tuple[dict[str, Any], _Failure | None]:
        """`processTemplatesInSection`: the section rendered, or as written if a template fails."""
        substituted = self.substitute(section, data, [name])
        rendered, failure = self.render_all(substituted, data, False, [name])
        return (section, failure) if failure is not None else (rendered, None)

    def substitute(self, value: Any, data: dict[str, Any], where: list[Any]) -> Any:
        """Every value that is exactly one field reference found in `data`, replaced by the value
        (Atmos `processStructuredTemplateRefs`); YAML functions moved with it are recorded."""
        kind = type(value)
        if kind is dict:
            out = None
            for key, item in value.items():
                where.append(key)
                new = self.substitute(item, data, where)
                where.pop()
                if new is not item:
                    out = dict(value) if out is None else out
                    out[key] = new
            return value if out is None else out
        if kind is list or kind is AppendList:  # an `!append` list stays one
            items = []
            for index, item in enumerate(value):
                where.append(index)
                items.append(self.substitute(item, data, where))
                where.pop()
            if all(a is b for a, b in zip(items, value)):
                return value
            return items if kind is list else AppendList(items)
        if kind is str and "{{" in value:
            ref = _plain_ref(value)
            if ref is not None:
                found, new = _lookup(data, ref)
                if found:
                    self._record(new, list(where))
                    return new
        return value

    def render_all(
        self, value: Any, data: dict[str, Any], keep_missing: bool, where: list[Any] | None = None
    ) -> tuple[Any, _Failure | None]:
        """`value` with every template rendered, and the first that reads something undefined."""
        try:
            return self._render(value, data, keep_missing, where or []), None
        except _Missing as missing:
            return value, missing.failure

    def _render(self, value: Any, data: dict[str, Any], keep_missing: bool, where: list[Any]) -> Any:
        kind = type(value)
        if kind is dict:
            pairs, changed = [], False
            for key, item in value.items():
                where.append(key)
                new = self._render(item, data, keep_missing, where)
                new_key = self._text(key, data, keep_missing, where) if type(key) is str and "{{" in key else key
                where.pop()
                pairs.append((new_key, new))
                changed = changed or new is not item or new_key is not key
            return dict(pairs) if changed else value
        if kind is list or kind is AppendList:  # an `!append` list stays one
            items = []
            for index, item in enumerate(value):
                where.append(index)
                items.append(self._render(item, data, keep_missing, where))
                where.pop()
            if all(a is b for a, b in zip(items, value)):
                return value
            return items if kind is list else AppendList(items)
        if kind is str and "{{" in value:
            return self._text(value, data, keep_missing, where)
        if isinstance(value, TerraformFunction) and "{{" in value.args:
            args = self._text(value.args, data, keep_missing, where)
            return TerraformFunction(value.function, args, value.file, value.line)
        return value

    def _text(self, text: str, data: dict[str, Any], keep_missing: bool, where: list[Any]) -> str:
        try:
            return render(text, data, _no_functions, keep_missing=keep_missing, environ=self.environ)
        except TemplateError as exc:
            field = _dotted(where)
            if not keep_missing:
                try:  # only a value that is not defined makes Atmos leave the file for later
                    render(text, data, _no_functions, keep_missing=True, environ=self.environ)
                except TemplateError:
                    pass
                else:
                    raise _Missing(_Failure(field, text, str(exc))) from None
            raise ConfigError(f"{self.path}: {field}: {exc}") from None

    def _record(self, value: Any, where: list[Any]) -> None:
        """Markers for the YAML functions a replaced value brings to `where`."""
        for at, leaf in _leaves(value, where):
            if isinstance(leaf, EnvFunction):
                self.markers.env.add(section_of(at))
            elif isinstance(leaf, TerraformFunction):
                self.markers.add_terraform(at)
            elif isinstance(leaf, MetadataRead):
                self.markers.metadata_reads = True


def _no_functions(value: Any) -> Any:
    """The renderer's step hook: a YAML function cannot be printed (Atmos would print its text)."""
    if isinstance(value, (EnvFunction, TerraformFunction, ExecRef, StoreRef, AwsFact, MetadataRead)):
        raise TemplateError(f"reads '{value}', a YAML function: it is known only per instance, so it can be "
                            "used only as a whole value ('{{ .locals.name }}'), not printed into text")
    return value


def _has_locals(data: dict[str, Any]) -> bool:
    return LOCALS in data or any(isinstance(data.get(s), dict) and LOCALS in data[s] for s in SCOPES)


def _strip_locals(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its file-level `locals` sections (never merged, never reported)."""
    if not _has_locals(data):
        return data
    out = {k: v for k, v in data.items() if k != LOCALS}
    for scope in SCOPES:
        section = out.get(scope)
        if isinstance(section, dict) and LOCALS in section:
            out[scope] = {k: v for k, v in section.items() if k != LOCALS}
    return out


def _deferred_locals(
    data: dict[str, Any],
    file_locals: dict[str, Any] | None,
    failure: _Failure | None = None,
    section_failures: Mapping[str, _Failure] | None = None,
) -> dict[str, str]:
    """Each template left for the component stage that reads `.locals`, with why the file's
    locals did not render it. There `.locals` is the component's own (component-level) locals:
    a name they lack is refused then, with this reason (Atmos prints `<no value>`).

    `file_locals`: None when the file has no locals section; `failure` / `section_failures`:
    why the file (or one of its top-level settings/vars/env) stayed unrendered at file scope.
    """
    notes: dict[str, str] = {}
    for where, text in _deferred_templates(data):
        reads, names = _locals_read(text)
        if not reads:
            continue
        missing = [name for name in names if name not in (file_locals or {})]
        if file_locals is None:
            why = ("this file has no locals: locals are file-scoped, never inherited through imports "
                   "(Atmos renders '<no value>')")
        elif missing:
            why = (f"this file defines no local '{missing[0]}' (its locals: {', '.join(sorted(file_locals)) or 'none'}; "
                   "locals are file-scoped; Atmos renders '<no value>')")
        else:
            section = str(where[0])
            blocker = (section_failures or {}).get(section) or failure
            scope = f"its top-level {section}" if blocker is not failure else "a file"
            detail = f"{blocker.text!r} at {blocker.field} does not: {blocker.reason}" if blocker else "one does not"
            why = (f"Atmos renders the locals into {scope} only when every template there renders at file "
                   f"scope, and {detail}; left for the component stage, it prints '<no value>'")
        notes[text] = why
    return notes


def _deferred_templates(data: dict[str, Any]) -> Iterator[tuple[list[Any], str]]:
    """(key path, template) for what stackflow renders later: not helmfile/packer parts."""
    for key, value in data.items():
        if key in ("helmfile", "packer"):
            continue
        if key == "components" and isinstance(value, dict):
            for kind, components in value.items():
                if kind != "terraform" or not isinstance(components, dict):
                    continue
                for name, section in components.items():
                    if isinstance(section, dict):
                        for k, v in section.items():
                            yield from _templates(v, ["components", kind, name, k])
            continue
        yield from _templates(value, [key])


def _templates(value: Any, where: list[Any]) -> Iterator[tuple[list[Any], str]]:
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            at = [*where, key]
            if type(key) is str and "{{" in key:
                yield at, key
            yield from _templates(item, at)
    elif kind is list or kind is AppendList:
        for index, item in enumerate(value):
            yield from _templates(item, [*where, index])
    elif kind is str and "{{" in value:
        yield where, value
    elif isinstance(value, TerraformFunction) and "{{" in value.args:
        yield where, str(value)


def _leaves(value: Any, where: list[Any]) -> Iterator[tuple[list[Any], Any]]:
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            yield from _leaves(item, [*where, key])
    elif kind is list or kind is AppendList:
        for index, item in enumerate(value):
            yield from _leaves(item, [*where, index])
    else:
        yield where, value


def _plain_ref(text: str) -> tuple[str, ...] | None:
    match = _PLAIN_REF.match(text)
    return tuple(match.group(1)[1:].split(".")) if match else None


def _lookup(data: Any, names: tuple[str, ...]) -> tuple[bool, Any]:
    """Atmos `LookupFieldPath`: through maps only."""
    for name in names:
        if not isinstance(data, Mapping) or name not in data:
            return False, None
        data = data[name]
    return True, data


def _dependencies(value: Any) -> Iterator[str]:
    """The `X` of each `.locals.X` a local's templates read, in order."""
    for _, leaf in _leaves(value, []):
        if type(leaf) is str and "{{" in leaf:
            yield from _locals_read(leaf)[1]


def _locals_read(text: str) -> tuple[bool, list[str]]:
    """Whether the template reads `.locals`, and the names it reads under it (`.locals.X`); a
    template that does not parse reads none here (rendering it reports the error)."""
    try:
        chains = [chain for chain in root_fields(text) if chain[0] == LOCALS]
    except TemplateError:
        return False, []
    return bool(chains), [chain[1] for chain in chains if len(chain) > 1]


def _dotted(where: list[Any]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the file)"
