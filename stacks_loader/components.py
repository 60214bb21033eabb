"""The Terraform components of one merged stack manifest, resolved into `StackInstance`s.

Precedence per section, lowest first (Atmos `mergeComponentConfigurations`): global (`vars`, …),
`terraform.*`, the base components from `metadata.inherits` (each base after its own bases, in
the order listed), the component itself, then its file-scoped `overrides`.
"""

from __future__ import annotations

import operator
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import LIST_MERGE_STRATEGIES, AtmosConfig
from .backend import apply_backend_defaults, backend_section
from .component_plan import ComponentPlan, ComponentPlans, vars_over_bases
from .dependencies import DeclaredDependencies, DependencyReader, LegacyMatch
from .imports import MergedManifest
from .instance_values import ValueResolver
from .integrations import atlantis_project, spacelift_stack
from .manifests import ALL_SECTIONS, parse_terraform_function, parse_value
from .merge import Tail, merge, merge_all
from .model import Dependency, InstanceRef, StackInstance, TerraformOutputRef, TerraformOutputText
from .naming import SAFE_COMPONENT_NAME, SAFE_STACK_NAME, manifest_stem, stack_name, workspace
from .schema import REPORTED_SECTIONS
from .component_outputs import FUNCTIONS as COMPONENT_FUNCTIONS
from .component_outputs import NeedsInstances, PendingTemplate, deferred_value, render_value
from .templates import Encoded, RunTimeText, RunTimeValue, TemplateError, render, root_fields
from .deferred_merge import (
    DEFERRED_MERGE_SECTIONS,
    function_paths,
    plan_deferred_merges,
    settle_deferred_merges,
    value_at,
)
from .metadata_reads import fill_metadata_reads, holds_metadata_read
from .yaml_functions import EnvFunction, TerraformFunction, settle_sections

_NO_DEPENDENCIES = DeclaredDependencies()
_NO_KEYS: frozenset[Any] = frozenset()
_EMPTY: dict[str, Any] = {}
# (key in the merged sections, section name in manifests) walked for `!env`
_ENV_SECTIONS = (
    ("vars", "vars"),
    ("settings", "settings"),
    ("providers", "providers"),
    ("metadata", "metadata"),
    ("dependencies", "dependencies"),
    ("backends", "backend"),
    ("remote_backends", "remote_state_backend"),
    *((name, name) for name in REPORTED_SECTIONS if name != "required_version"),
)
# rendered (and `!terraform.*` refused) after vars; `generate` is not: its templates are rendered
# when Atmos writes the files, with a context of their own (`{{ .namespace }}`, …)
_DEFERRED_SECTIONS = ("settings", "env", "providers", "backend", "remote_state_backend", "dependencies", "locals",
                      *(name for name in REPORTED_SECTIONS if name != "generate"))
# the sections an instance keeps: each must be its own dict
_OWNED = ("vars", "settings", "env", "metadata", "providers")
_WORKSPACE_KEYS = frozenset({"terraform_workspace", "terraform_workspace_pattern", "terraform_workspace_template"})


@dataclass(frozen=True)
class _Named:
    stack: str
    component: str
    stack_file: str
    vars: dict[str, Any]
    settings: dict[str, Any]


@dataclass
class ResolvedInstance:
    instance: StackInstance
    legacy: list[LegacyMatch]
    pending: bool = False  # holds a `PendingTemplate` (reads another instance's sections)


class StackResolver:
    """Resolves every Terraform component of one top-level stack manifest."""

    def __init__(
        self,
        merged: MergedManifest,
        atmos: AtmosConfig,
        environ: Mapping[str, str],
        *,
        warn: Callable[[str], None],
        definer: Callable[[str, tuple[Any, ...]], str | None],
        folder_exists: Callable[[str], bool],
        dependency_reader: DependencyReader | None = None,
        clean_values: dict[tuple[int, int], Any] | None = None,
        plans: ComponentPlans | None = None,
    ) -> None:
        self.merged = merged
        self.atmos = atmos
        self.environ = environ
        self.warn = warn
        self.definer = definer  # (stack file, key path) -> repo-relative manifest that sets it
        self.folder_exists = folder_exists
        self.dependency_reader = dependency_reader or DependencyReader()
        self.clean_values = clean_values if clean_values is not None else {}  # see ValueResolver
        self.stack_file = merged.path
        self._manifest_name = manifest_stem(merged.path)  # as Atmos shows it: no extension
        self.where = atmos.stacks_path(merged.path)
        config = merged.config
        self.components: dict[str, Any] = (config.get("components") or {}).get("terraform") or {}
        self.manifest_name = config.get("name")
        if isinstance(self.manifest_name, EnvFunction):
            self.manifest_name = environ.get(self.manifest_name.name, self.manifest_name.default or "")
        strategy = atmos.list_merge_strategy
        terraform = config.get("terraform") or {}
        self.terraform = terraform
        self.global_vars = merge_all([config.get("vars"), terraform.get("vars")], strategy)
        self.global_settings = merge_all([config.get("settings"), terraform.get("settings")], strategy)
        self.global_env = merge_all([atmos.env, config.get("env"), terraform.get("env")], strategy)
        self.global_metadata = config.get("metadata") or {}
        self.global_dependencies = merge_all(
            [config.get("dependencies"), terraform.get("dependencies")], strategy
        )
        self.global_generate = merge_all([config.get("generate"), terraform.get("generate")], strategy)
        self.global_hooks = merge_all([config.get("hooks"), terraform.get("hooks")], strategy)
        # atmos.yaml `auth` lies under the stacks' (Atmos' processAuthConfig)
        self.global_auth = merge_all([atmos.auth, config.get("auth"), terraform.get("auth")], strategy)
        self._chains: dict[str, tuple[str, ...]] = {}
        # the sections' stack-wide layers, and which hold post-merge YAML functions (`_plan_deferred_merges`)
        self._global_layers: dict[str, Any] | None = None
        self._global_functions: frozenset[str] = frozenset()
        # shared by the stacks of a load: catalog components are the same sections in each
        self.plans = plans if plans is not None else ComponentPlans(
            inherit_metadata=atmos.inherit_metadata, inherit_source=atmos.inherit_source
        )
        self._backend_type = terraform.get("backend_type") or ""
        self._remote_state_backend_type = terraform.get("remote_state_backend_type") or ""
        self._command = terraform.get("command") or atmos.terraform_command
        self._folders: dict[str, str] = {}
        self._paths: dict[str, str] = {}
        self._refs: dict[tuple[int, str, str], tuple[TerraformFunction, TerraformOutputRef]] = {}
        self._terraform_vars_by_owner: dict[str, set[Any]] = {}
        for owner, key in merged.markers.terraform_vars:
            self._terraform_vars_by_owner.setdefault(owner, set()).add(key)
        # the resolvers' callbacks never hold `self`: no reference cycle, so refcounting frees a
        # resolver (and what it cached) as soon as its stack is done
        self._environ_resolver = ValueResolver(
            env=partial(_environ_value, environ), clean=self.clean_values, scope=environ
        )
        self._env_lookup = _EnvLookup(environ)
        self._env_resolver = ValueResolver(env=self._env_lookup, clean=self.clean_values, scope=_EMPTY)
        # one resolver per stack for templates and `!terraform.*`; callbacks are set per instance
        self._deferred_resolver = ValueResolver(template=render, terraform=len, clean=self.clean_values)
        self._ref_dependencies: dict[tuple[InstanceRef, str], Dependency] = {}
        self._pending_reads = False  # set while resolving an instance that gets a `PendingTemplate`
        self.imports = tuple(sorted(set(merged.files)))
        self._pattern_keys = (
            tuple(t[1:-1] for t in atmos.name_pattern.split("-"))
            if atmos.name_pattern and not atmos.name_template and not self.manifest_name
            else None
        )
        self._stack_names: dict[tuple[Any, ...], str] = {}
        markers = merged.markers
        self._marked = bool(markers.env or markers.templates or markers.terraform or markers.append or markers.unset
                            or markers.metadata_reads or markers.run_time)
        # the stack's layers below its components, but vars: stacks sharing them share instances' sections
        self._layers = None if self._marked else self.plans.stack_layers(
            self.global_settings, self.global_env, terraform.get("providers"), self.global_metadata,
            self.global_dependencies, terraform.get("backend"), terraform.get("remote_state_backend"),
            self._backend_type, self._remote_state_backend_type, self._command,
            self.global_generate, self.global_hooks, self.global_auth, terraform.get("source"),
            terraform.get("provision"),
        )
        self._plain_workspaces = atmos.workspaces_enabled
        # `settings.list_merge_strategy` can be set per component; when nobody does, skip the lookup
        self._custom_strategy = "list_merge_strategy" in self.global_settings or any(
            "list_merge_strategy" in ((section or _EMPTY).get("settings") or _EMPTY)
            or "list_merge_strategy" in (((section or _EMPTY).get("overrides") or _EMPTY).get("settings") or _EMPTY)
            for section in self.components.values()
        )

    # public
    def resolve(self) -> list[ResolvedInstance]:
        return [self._instance(name) for name in self.components]

    # inheritance
    def chain(self, name: str, visiting: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Base components of `name` in merge order (each base after its own bases), Atmos style."""
        cached = self._chains.get(name)
        if cached is not None:
            return cached
        section = self.components.get(name) or {}
        metadata = section.get("metadata") or {}
        order: list[str] = []
        bases: list[tuple[str, str]] = []
        top = section.get("component")
        is_abstract = metadata.get("type") == "abstract"
        if isinstance(top, str) and top and top != name and top in self.components and not is_abstract:
            bases.append((top, "component"))  # the deprecated top-level `component:` also inherits
        bases += [(b, "metadata.inherits") for b in metadata.get("inherits") or []]
        for base, via in bases:
            if base == name:  # Atmos skips it (processBaseComponentConfigInternal), no error
                self.warn(
                    f"{self._defined_in(name, 'metadata', 'inherits')}: component {name!r} inherits from "
                    "itself: ignored"
                )
                continue
            if base in visiting:
                cycle = " → ".join([*visiting, name, base])
                raise ConfigError(
                    f"{self._defined_in(name, 'metadata', 'inherits')}: component inheritance cycle: {cycle}"
                )
            if base not in self.components:
                raise ConfigError(
                    f"{self._defined_in(name, 'metadata', 'inherits')}: component {name!r} inherits from "
                    f"{base!r} ({via}), but {base!r} is not defined in stack manifest {self.where} or its imports"
                )
            order += self.chain(base, (*visiting, name))
            order.append(base)
        result = tuple(order)
        self._chains[name] = result
        return result

    def base_name(self, name: str) -> str:
        """Atmos' `BaseComponentName`: the component's own `metadata.component`, else the first base
        found through the deprecated top-level `component:` (only one defined in the stack), else the
        name. It names the state (S3 `workspace_key_prefix`, GCS `prefix`, AzureRM `key`) and is the
        `component` of describe output; the folder terraform runs in also reads inherited metadata.
        """
        cached = self._folders.get(name)
        if cached is not None:
            return cached
        section = self.components.get(name) or _EMPTY
        own_meta = section.get("metadata") or _EMPTY
        top = section.get("component")
        if isinstance(own_meta.get("component"), str):  # own only: not inherited (processMetadataInheritance)
            found = own_meta["component"]
        elif isinstance(top, str) and top:
            found = self._first_base(name, top, set())
        else:
            found = ""
        result = self._folders[name] = found or name
        return result

    def _first_base(self, component: str, base: str, visiting: set[tuple[str, str]]) -> str:
        """Atmos' `FinalBaseComponentName`: the first base whose own bases are all worked out, depth
        first (processBaseComponentConfigInternal); "" when `base` is not a component of the stack."""
        section = self.components.get(base)
        if component == base or section is None or (component, base) in visiting:
            return ""
        visiting.add((component, base))
        metadata = section.get("metadata") or _EMPTY
        top = section.get("component")
        if isinstance(top, str) and metadata.get("type") != "abstract":
            found = self._first_base(base, top, visiting)
            if found:
                return found
        for parent in metadata.get("inherits") or ():
            if isinstance(parent, str):
                found = self._first_base(component, parent, visiting)
                if found:
                    return found
        return base

    # one instance
    def _instance(self, name: str) -> ResolvedInstance:
        if not _safe_component_name(name):
            raise ConfigError(
                f"{self._defined_in(name)}: component name {name!r} has characters unsafe for paths "
                "(use letters, digits, '.', '_', '-' and '/' between parts)"
            )
        own = self.components.get(name) or _EMPTY
        if self._marked:
            chain = self._chains.get(name)
            if chain is None:
                chain = self.chain(name)
            return self._marked_instance(name, own, chain, self._plan(name, own, chain))
        # Nothing to resolve per instance: all but the vars is the same for every stack whose
        # layers are the same objects, and built once for them (each instance copies it).
        chain, vars_layers, shared = self._shared_component(name, own)
        vars_ = vars_layers.over(self.global_vars)
        folder = shared["folder"]
        if shared["check_folder"]:
            self.folder_exists(shared["component_path"])  # a missing folder is reported once, as a warning
        stack = self._fast_stack_name(vars_)
        if stack is None:
            section = self._template_section({**shared, "vars": vars_}, name, folder)
            stack = stack_name(self.atmos, self.manifest_name, self.stack_file, name, section, self.where, self.warn)
        where = f"{self.where}: stack {stack!r} component {name!r}"
        if "backend" not in shared:  # built with the first stack that needs it (errors name it)
            self._backends(shared, name, own, where)
        if shared["plain_workspace"]:
            ws = stack if folder == name else f"{stack}-{name}".replace("/", "-")
        else:
            section = self._template_section({**shared, "vars": vars_}, name, folder)
            section.update(stack=stack, atmos_stack=stack, backend=shared["backend"],
                           remote_state_backend=shared["remote_state_backend"])
            ws = workspace(self.atmos, stack, name, folder, shared["backend_type"], shared["metadata"], section,
                           self.where)
        sec = {
            "vars": vars_,
            "settings": dict(shared["settings"]),
            "env": dict(shared["env"]),
            "metadata": dict(shared["metadata"]),
            "providers": dict(shared["providers"]),
            "backend": dict(shared["backend"]),
            "remote_state_backend": dict(shared["remote_state_backend"]),
        }
        return self._new_instance(name, own, chain, stack, ws, where, shared, sec, [])

    def _marked_instance(
        self, name: str, own: dict[str, Any], chain: tuple[str, ...], plan: ComponentPlan
    ) -> ResolvedInstance:
        """An instance of a stack whose manifests hold `!env`, templates or `!terraform.*`."""
        sec = self._merged_sections(plan)
        sec.update(sec["reported"])  # resolved in place like the other sections, gathered again below
        sec["vars"] = plan.vars.over(self.global_vars)
        merges = self._plan_deferred_merges(sec, plan)
        markers = self.merged.markers
        # marker resolution may hand back containers shared between instances: copied at the end
        fresh = [sec[key] for key in _OWNED]
        if markers.env:  # `!env` first: the stack name and the backend may depend on it
            self._resolve_env(sec, markers.env)
        templates = markers.templates and self.atmos.templates_enabled
        base_name = self.base_name(name)
        if templates:  # before the folder is chosen from it
            sec["metadata"], base_name = self._render_metadata(sec, name, base_name)
        vars_, metadata = sec["vars"], sec["metadata"]

        sec["base_name"] = base_name
        # the folder: Atmos' ProcessComponentMetadata reads the merged metadata, then the base name
        folder = metadata.get("component") or base_name
        component_path = self._component_path(name, folder)
        sec["base_path"] = component_path if base_name == folder else self._component_path(name, base_name)
        if metadata.get("type") != "abstract" and metadata.get("enabled") is not False:
            self.folder_exists(component_path)  # a missing folder is reported once, as a warning
        backend_type = sec["backend_type"]
        # what templates, name templates and workspace patterns see: built only for them
        section: dict[str, Any] | None = None
        stack = self._fast_stack_name(vars_)
        if stack is None:
            section = self._template_section(sec, name, folder)
            stack = stack_name(self.atmos, self.manifest_name, self.stack_file, name, section, self.where, self.warn)
        where = f"{self.where}: stack {stack!r} component {name!r}"
        self._backends(sec, name, own, where)
        plain_workspace = self._plain_workspace(backend_type, metadata)
        if not plain_workspace or templates or markers.terraform:
            if section is None:
                section = self._template_section(sec, name, folder)
            section.update(stack=stack, atmos_stack=stack)
            section.update(backend=sec["backend"], remote_state_backend=sec["remote_state_backend"])
        if plain_workspace:
            ws = stack if folder == name else f"{stack}-{name}".replace("/", "-")
        else:
            ws = workspace(self.atmos, stack, name, folder, backend_type, metadata, section, self.where)
        if section is not None:
            section["workspace"] = ws
            if templates:  # as Atmos, named before templates run so `{{ .spacelift_stack }}` reads them
                self._add_integration_names(section, sec, stack, name)

        refs: list[Dependency] = []
        self._pending_reads = False
        if templates or markers.terraform:
            self._resolve_deferred(sec, section, stack, name, chain, templates, refs)  # type: ignore[arg-type]
        if markers.metadata_reads:  # the metadata is final now (templates rendered)
            self._fill_metadata_reads(sec, where)
        if merges:  # every YAML function in them is resolved now (or kept for the run)
            for key in DEFERRED_MERGE_SECTIONS:
                sec[key] = settle_deferred_merges(sec[key], where)
        if markers.append or markers.unset:  # Atmos' YAML-function pass, after templates: `!unset` removed
            settle_sections(sec, (*_OWNED, *_DEFERRED_SECTIONS, "generate"), unset=markers.unset,
                            clean=self.clean_values)
        for key, before in zip(_OWNED, fresh):
            if sec[key] is not before:
                sec[key] = dict(sec[key])
        sec["component_path"] = component_path
        remote_backend = sec["remote_state_backend"]
        if remote_backend is sec["backend"]:
            sec["remote_state_backend"] = dict(remote_backend)
        sec["reported"] = {name: sec[name] for name in REPORTED_SECTIONS}
        if sec["locals"]:
            sec["reported"]["locals"] = sec["locals"]
        resolved = self._new_instance(name, own, chain, stack, ws, where, sec, sec, refs)
        resolved.pending = self._pending_reads
        return resolved

    def _new_instance(
        self,
        name: str,
        own: dict[str, Any],
        chain: tuple[str, ...],
        stack: str,
        ws: str,
        where: str,
        resolved: dict[str, Any],
        owned: dict[str, Any],
        refs: list[Dependency],
    ) -> ResolvedInstance:
        """The instance: `owned` holds the dicts it keeps (its own), `resolved` the rest of its sections."""
        settings, dependencies = resolved["settings"], resolved["dependencies"]
        if dependencies or settings.get("depends_on") or own.get("depends_on"):
            declared = self.dependency_reader.declared(
                stack=stack,
                dependencies=dependencies,
                settings=settings,
                component_depends_on=own.get("depends_on"),
                own_vars=owned["vars"],
                where=where,
            )
            for message in declared.warnings:
                self.warn(message)
            files, folders = declared.files, declared.folders  # new lists for each call
        else:
            declared = _NO_DEPENDENCIES
            files, folders = [], []
        deps = [*declared.dependencies, *refs]
        instance = StackInstance(
            stack=stack,
            component=name,
            component_path=resolved["component_path"],
            base_component_path=resolved["base_path"],
            stack_file=self.stack_file,
            vars=owned["vars"],
            settings=owned["settings"],
            env=owned["env"],
            metadata=owned["metadata"],
            backend_type=resolved["backend_type"],
            backend=owned["backend"],
            providers=owned["providers"],
            workspace=ws,
            dependencies=_unique(deps) if len(deps) > 1 else deps,
            depends_on_files=files,
            depends_on_folders=folders,
            command=resolved["command"],
            remote_state_backend_type=resolved["remote_state_backend_type"],
            remote_state_backend=owned["remote_state_backend"],
            inheritance=list(reversed(chain)),
            imports=self.imports,
            # what Atmos compares whole for `stack.dependencies`; its own dict, as every section kept
            dependencies_section=dict(dependencies) if dependencies else {},
            reported_sections=dict(resolved["reported"]),  # the sections in it are read only
            legacy_base=top if isinstance(top := own.get("component"), str) else "",
        )
        return ResolvedInstance(instance, declared.legacy)

    def _shared_component(self, name: str, own: dict[str, Any]) -> tuple[tuple[str, ...], Tail, dict[str, Any]]:
        """Inheritance chain, vars layers, and sections but vars (read only) of a component in an
        unmarked stack: what another stack found for the same name and layers, and a section that
        differs from this one in its vars at most, when each base name still finds the same section
        here. (A stack manifest setting a catalog component's vars gets a section of its own; the
        rest of it is the catalog's objects.)"""
        rest = own.copy()  # the section but its vars: keys and values' ids, made in C
        vars_ = rest.pop("vars", None)
        key = (name, self._layers, *rest, *map(id, rest.values()))
        known = self.plans.shared.get(key)
        components = self.components
        if known is not None:
            chain, bases, plan, shared, values, own_vars = known
            if all(map(operator.is_, map(components.get, chain), bases)) and all(
                map(operator.is_, rest.values(), values)
            ):
                return chain, plan.vars if vars_ is own_vars else vars_over_bases(plan, own), shared
        chain = self._chains.get(name)
        if chain is None:
            chain = self.chain(name)
        plan = self._plan(name, own, chain)
        shared = self._merged_sections(plan)
        metadata = shared["metadata"]
        base_name = shared["base_name"] = self.base_name(name)
        # the folder: Atmos' ProcessComponentMetadata reads the merged metadata, then the base name
        folder = shared["folder"] = metadata.get("component") or base_name
        shared["component_path"] = self._component_path(name, folder)
        shared["base_path"] = (
            shared["component_path"] if base_name == folder else self._component_path(name, base_name)
        )
        shared["check_folder"] = metadata.get("type") != "abstract" and metadata.get("enabled") is not False
        shared["plain_workspace"] = self._plain_workspace(shared["backend_type"], metadata)
        bases = tuple([components.get(b) for b in chain])
        # the deprecated top-level `component:` makes the chain and the folder depend on which
        # other components the stack has: such a component is worked out in each stack
        if not any(isinstance(section.get("component"), str) for section in (own, *bases) if section):
            # the values are held so that their ids stay theirs while the entry lives
            self.plans.shared[key] = (chain, bases, plan, shared, tuple(rest.values()), vars_)
        return chain, plan.vars, shared

    def _plain_workspace(self, backend_type: str, metadata: dict[str, Any]) -> bool:
        """Whether the workspace is the stack name (`-<component>` when the folder differs)."""
        return self._plain_workspaces and backend_type != "http" and not _WORKSPACE_KEYS.intersection(metadata)

    def _add_integration_names(self, section: dict[str, Any], sec: dict[str, Any], stack: str, name: str) -> None:
        """`spacelift_stack` / `atlantis_project` in the template context, when Atmos names them."""
        named = _Named(stack, name, self.stack_file, sec["vars"], sec["settings"])
        for key, build in (("spacelift_stack", spacelift_stack), ("atlantis_project", atlantis_project)):
            value = build(named, self.atmos)
            if value:
                section[key] = value

    def _template_section(self, sec: dict[str, Any], name: str, folder: str) -> dict[str, Any]:
        """The instance as templates see it (Atmos' component section), before the stack is known."""
        return {
            "vars": sec["vars"],
            "settings": sec["settings"],
            "env": sec["env"],
            "metadata": sec["metadata"],
            "providers": sec["providers"],
            "backend_type": sec["backend_type"],
            "component": folder,
            "atmos_component": name,
            "atmos_stack_file": self._manifest_name,
            "atmos_manifest": self._manifest_name,
            **({"locals": sec["locals"]} if sec.get("locals") else {}),
        }

    def _backends(self, sec: dict[str, Any], name: str, own: dict[str, Any], where: str) -> None:
        """`backend` (the chosen type, with Atmos' key defaults) and `remote_state_backend`."""
        backend_type = sec["backend_type"]
        backend = backend_section(backend_type, sec["backends"], what="backend", where=where)
        apply_backend_defaults(
            backend_type,
            backend,
            component=name,
            base_name=sec["base_name"],
            metadata=sec["metadata"],
            separator=self.atmos.workspace_prefix_separator,
            global_backend=self.terraform.get("backend") or _EMPTY,
            component_backend=own.get("backend") or _EMPTY,
        )
        # remote state: the backend (when of the same type) under `remote_state_backend`
        remote_type = sec["remote_state_backend_type"]
        remote_backends = sec["remote_backends"]
        remote_own = (
            backend_section(remote_type, remote_backends, what="remote_state_backend", where=where)
            if remote_backends
            else _EMPTY
        )
        sec["backend"] = backend
        sec["remote_state_backend"] = merge(backend if remote_type == backend_type else _EMPTY, remote_own)

    def _plan(self, name: str, own: dict[str, Any], chain: tuple[str, ...]) -> ComponentPlan:
        if self._custom_strategy:
            strategy = self._strategy(name, chain, own, own.get("overrides") or _EMPTY)
        else:
            strategy = self.atmos.list_merge_strategy
        components = self.components
        bases = tuple([components.get(b) or _EMPTY for b in chain]) if chain else ()
        return self.plans.plan(own, bases, strategy)

    def _merged_sections(self, plan: ComponentPlan) -> dict[str, Any]:
        """Every section but vars, its layers merged in Atmos precedence.

        Those an instance keeps are new dicts; only values nested deeper are shared.
        """
        tf = self.terraform
        backend_type = plan.backend_type or self._backend_type
        locals_ = plan.locals.read_over(None)
        return {
            "settings": plan.settings.over(self.global_settings),
            "env": plan.env.over(self.global_env),
            "providers": plan.providers.over(tf.get("providers")),
            # stack-level allowed keys, then the bases' (not `inherits`/`type`), then its own
            "metadata": plan.metadata.over(self.global_metadata),
            "dependencies": plan.dependencies.read_over(self.global_dependencies),
            "backend_type": backend_type,
            "backends": plan.backend.read_over(tf.get("backend")),
            "remote_state_backend_type": (
                plan.remote_state_backend_type or self._remote_state_backend_type or backend_type
            ),
            "remote_backends": plan.remote_state_backend.read_over(tf.get("remote_state_backend")),
            "command": plan.command or self._command,
            # in `schema.REPORTED_SECTIONS` order; shared between instances, never changed
            "reported": {
                "required_providers": plan.required_providers.read_over(None),
                "required_version": plan.required_version,
                "generate": plan.generate.read_over(self.global_generate),
                "auth": plan.auth.read_over(self.global_auth),
                "source": plan.source.read_over(tf.get("source")),
                "provision": plan.provision.read_over(tf.get("provision")),
                "hooks": plan.hooks.read_over(self.global_hooks),
                **({"locals": locals_} if locals_ else {}),  # shown only when set, as Atmos
            },
            "locals": locals_,
        }

    def _render_metadata(self, sec: dict[str, Any], name: str, base_name: str) -> tuple[dict[str, Any], str]:
        """`metadata` and the base name with their templates rendered: Atmos renders the whole
        component section, so `metadata.component: "vpc-{{ .settings.ver }}"` names the rendered
        folder (and state)."""
        metadata = sec["metadata"]
        section = self._template_section(sec, name, base_name)
        stack = self._fast_stack_name(sec["vars"])
        if stack is None:  # Atmos names the stack before it renders the section: `.stack` is there
            try:
                stack = stack_name(self.atmos, self.manifest_name, self.stack_file, name, section, self.where, self.warn)
            except ConfigError:
                stack = None  # named (and the error reported) where the instance is built
        if stack is not None:
            section.update(stack=stack, atmos_stack=stack)
        resolver = self._deferred_resolver
        resolver.configure(self._template_renderer(section, stack or "?", name), self._terraform_refused(stack or "?", name))
        try:
            rendered = resolver.resolve(metadata, "metadata")
            if "{{" in base_name:
                base_name = resolver.resolve(base_name, "metadata", "component")
            return rendered, base_name
        finally:
            resolver.configure(None, None)  # its callbacks hold `self`: leave no reference cycle

    def _resolve_env(self, sec: dict[str, Any], marked: set[str]) -> None:
        """Replace `!env` markers: the `env` section from the process environment, others from the
        instance's `env` section first (as Atmos), then the environment, then the default."""
        every = ALL_SECTIONS in marked
        if every or "env" in marked:
            sec["env"] = self._environ_resolver.resolve(sec["env"], "env")
        self._env_lookup.section = env = sec["env"]
        lookup = self._env_resolver
        lookup.rescope(env)
        for key, section in _ENV_SECTIONS:
            if every or section in marked:
                sec[key] = lookup.resolve(sec[key], section)
        for key in ("backend_type", "remote_state_backend_type", "command", "required_version"):
            if isinstance(sec[key], EnvFunction):
                sec[key] = lookup.resolve(sec[key], key)

    def _resolve_deferred(
        self,
        sec: dict[str, Any],
        section: dict[str, Any],
        stack: str,
        name: str,
        chain: tuple[str, ...],
        templates: bool,
        refs: list[Dependency],
    ) -> None:
        """Render templates, and turn `!terraform.*` in vars into references (elsewhere: an error)."""
        marked = self.merged.markers.terraform
        every = templates or ALL_SECTIONS in marked
        resolver = self._deferred_resolver
        resolver.configure(
            self._template_renderer(section, stack, name, refs) if templates else None,
            self._terraform_ref(section, stack, name, refs),
        )
        try:
            tf_vars = self.merged.markers.terraform_vars
            if every or ("*", ALL_SECTIONS) in tf_vars:
                sec["vars"] = resolver.resolve(sec["vars"], "vars")
            elif "vars" in marked:  # only the vars keys known to hold markers, for this component
                by_owner = self._terraform_vars_by_owner
                keys = by_owner.get("*", _NO_KEYS).union(
                    by_owner.get(name, _NO_KEYS), *(by_owner.get(base, _NO_KEYS) for base in chain)
                )
                original = vars_ = sec["vars"]
                for key in original:
                    if key in keys:
                        new = resolver.resolve(original[key], "vars", key)
                        if new is not original[key]:
                            if vars_ is original:
                                vars_ = dict(original)
                            vars_[key] = new
                sec["vars"] = vars_
            resolver.configure(resolver.template, self._terraform_refused(stack, name))
            for key in _DEFERRED_SECTIONS:
                if every or key in marked:
                    sec[key] = resolver.resolve(sec[key], key)
            if ALL_SECTIONS in marked or "metadata" in marked:
                ValueResolver(terraform=resolver.terraform).resolve(sec["metadata"], "metadata")
        finally:
            resolver.configure(None, None)  # its callbacks hold `self`: leave no reference cycle

    def _plan_deferred_merges(self, sec: dict[str, Any], plan: ComponentPlan) -> bool:
        """Put a `DeferredMerge` where Atmos merges a YAML function's value with other layers'
        (`deferred_merge.py`); whether there is any. Only the sections whose layers hold a
        post-merge function are looked at (known per plan and per stack, once)."""
        cache = self.plans.function_paths
        if self._global_layers is None:
            tf = self.terraform
            self._global_layers = {
                "vars": self.global_vars, "settings": self.global_settings, "env": self.global_env,
                "providers": tf.get("providers"), "auth": self.global_auth, "required_providers": None,
                "hooks": self.global_hooks, "generate": self.global_generate,
            }
            self._global_functions = frozenset(
                key for key, layer in self._global_layers.items() if layer and function_paths(layer, cache))
        planned = False
        in_plan = self.plans.function_sections(plan)
        for key in self._global_functions.union(in_plan):
            lone = in_plan.get(key)
            if lone is not None and key not in self._global_functions:
                below = self._global_layers[key]  # under the plan's layers: it only matters where it sets a value
                if not below or all(value_at(below, path) is None for path in lone):
                    continue
            tail = getattr(plan, key)
            merged = sec[key]
            sec[key] = plan_deferred_merges(key, merged, (self._global_layers[key], *tail.layers), tail.strategy,
                                            cache)
            planned = planned or sec[key] is not merged
        return planned

    def _fill_metadata_reads(self, sec: dict[str, Any], where: str) -> None:
        """`!tags` / `!labels`…: the instance's merged metadata, in every section but metadata."""
        metadata = sec["metadata"]
        if holds_metadata_read(metadata):
            raise ConfigError(f"{where}: metadata uses !tags or !labels, which read the metadata itself "
                              "(use them in vars, settings or env)")
        for key in dict.fromkeys((*_OWNED, *_DEFERRED_SECTIONS, "generate", "backend", "remote_state_backend")):
            if key != "metadata" and key in sec:
                sec[key] = fill_metadata_reads(sec[key], metadata)

    # helpers
    def _fast_stack_name(self, vars_: dict[str, Any]) -> str | None:
        """The common case of `naming.stack_name`: string vars joined by `stacks.name_pattern`."""
        if self._pattern_keys is None:
            return None
        parts = tuple(map(vars_.get, self._pattern_keys))
        try:
            stack = self._stack_names.get(parts)  # a stack's instances mostly share their context vars
        except TypeError:  # a map or a list among them: not for this fast path
            return None
        if stack is None:
            if not all(type(value) is str and value for value in parts):
                return None
            stack = "-".join(parts)
            if not SAFE_STACK_NAME.match(stack):
                return None
            self._stack_names[parts] = stack
        return stack

    def _strategy(self, name: str, chain: tuple[str, ...], own: dict[str, Any], overrides: dict[str, Any]) -> str:
        """`settings.list_merge_strategy`, the most specific one set (Atmos `effectiveAtmosConfig`)."""
        strategy = self.atmos.list_merge_strategy
        layers = [self.global_settings, *((self.components.get(b) or _EMPTY).get("settings") for b in chain),
                  own.get("settings"), overrides.get("settings")]
        if not any(layer and "list_merge_strategy" in layer for layer in layers):
            return strategy
        for layer in layers:
            value = (layer or {}).get("list_merge_strategy")
            if value:
                strategy = value
        if strategy not in LIST_MERGE_STRATEGIES:
            raise ConfigError(
                f"{self._defined_in(name, 'settings', 'list_merge_strategy')}: component {name!r}: "
                f"settings.list_merge_strategy {strategy!r} is not one of {', '.join(LIST_MERGE_STRATEGIES)}"
            )
        return strategy

    def _component_path(self, name: str, folder: str) -> str:
        path = self._paths.get(folder)
        if path is None:
            path = self._paths[folder] = self._check_component_path(name, folder)
        return path

    def _check_component_path(self, name: str, folder: str) -> str:
        base = self.atmos.terraform_base_path
        path = posixpath.normpath(posixpath.join(base, folder)) if folder else base
        inside = path.startswith(base + "/") if base else not (path.startswith("../") or path == "..")
        if folder.startswith("/") or not inside or path == base:
            raise ConfigError(
                f"{self._defined_in(name, 'metadata', 'component')}: component {name!r}: metadata.component "
                f"{folder!r} is outside the components base path {base or '.'}/"
            )
        return path

    def _template_renderer(
        self, section: dict[str, Any], stack: str, name: str, refs: list[Dependency] | None = None
    ) -> Callable[[str, str], Any]:
        """Renders a value's template; `refs` (vars only) gathers the parents `atmos.Component` reads."""

        def no_value(missing: str, path: str) -> None:
            # once per file, component and field (not per stack): the same catalog value in every stack
            self.warn(f"{self._origin(name, path)}: component {name!r}: {path}: template value '{missing}' is not "
                      "defined: rendered as '<no value>', as Atmos does")

        def render_template(text: str, path: str, decoded: bool = False) -> Any:
            quoted = self.atmos.quoted_templates
            if quoted:
                # Atmos renders the YAML it writes of the section: a value that is one template is
                # written '{{ … }}' (so the delimiters take the quotes, and the output is read back
                # as YAML); in any other value the delimiters never occur
                if not (text.startswith("{{") and text.endswith("}}")):
                    self.warn(f"{self._origin(name, path)}: component {name!r}: {path}: not rendered: with "
                              "templates.settings.delimiters [\"'{{\", \"}}'\"] Atmos renders only a value that "
                              "is one template")
                    return text
                if text.find("}}") < len(text) - 2:  # '{{ a }}-{{ b }}': one action to Atmos, which fails
                    raise ConfigError(f"{self._origin(name, path)}: stack {stack!r} component {name!r}: {path}: "
                                      f"{text!r}: with templates.settings.delimiters [\"'{{\", \"}}'\"] a value "
                                      "holds one template (Atmos reads this one as a single action and fails)")
                decoded = True
            if "locals" in text:
                self._check_locals(text, text, section, f"{self._origin(name, path)}: stack {stack!r} "
                                   f"component {name!r}: {path}", name)
            where = f"{self._origin(name, path)}: stack {stack!r} component {name!r}"
            try:
                result = self._render_passes(text, section, partial(no_value, path=path), whole=True, decoded=decoded)
                if quoted and type(result) is str:
                    try:
                        return parse_value(result)
                    except ValueError as exc:
                        raise TemplateError(f"renders to {result!r}, which Atmos reads back as YAML: {exc}") from None
                if isinstance(result, (RunTimeValue, RunTimeText)):
                    if refs is None:
                        raise TemplateError(f"{path}: known only when the stack runs, so not supported here")
                    if quoted and not isinstance(result, Encoded):  # printed, then read back as YAML
                        result = RunTimeText(result.parts if isinstance(result, RunTimeText) else (result,))
                    value, parents = deferred_value(result, path, self._origin(name, path),
                                                    self.dependency_reader.refs.get, decoded=decoded)
                    refs.extend(self._output_edge(parent, path) for parent in parents)
                    if quoted and isinstance(value, TerraformOutputText):
                        value = replace(value, read_back=True)
                    return value
            except NeedsInstances as exc:
                if refs is None or not path.startswith(("vars.", "env.")):
                    raise ConfigError(f"{where}: {path}: {exc}: stackflow reads another instance's sections in "
                                      "vars and env only") from None
                self._pending_reads = True
                return PendingTemplate(text, path, where, self._origin(name, path), data=section)
            except TemplateError as exc:
                raise ConfigError(f"{where}: {path}: {exc}") from None
            return result

        return render_template

    def _render_passes(self, text: str, section: dict[str, Any], no_value: Callable[[str], None] | None = None,
                       whole: bool = False, decoded: bool = False) -> Any:
        """`component_outputs.render_value` with this stack's settings; with `whole`, the `atmos.*`
        functions run (what they give is known only at run time, and comes back as it is)."""
        return render_value(text, section, evaluations=self.atmos.template_evaluations, environ=self.environ,
                            functions=COMPONENT_FUNCTIONS if whole else None, no_value=no_value, decoded=decoded)

    def _check_locals(self, text: str, note: str, section: dict[str, Any], where: str, name: str) -> None:
        """A template reaching the component stage reads `.locals` as the component's own locals
        (Atmos' component section); a name they lack is refused, with why the file's locals did not
        render it first (`Markers.deferred_locals`), where Atmos would print `<no value>`."""
        try:
            chains = [chain for chain in root_fields(text) if chain[0] == "locals"]
        except TemplateError:
            return  # rendering reports it
        own = section.get("locals") or {}
        for chain in chains:
            if len(chain) > 1 and chain[1] in own or len(chain) == 1 and own:
                continue
            why = self.merged.markers.deferred_locals.get(note, "locals are file-scoped (Atmos renders '<no value>')")
            lack = (f"no component-level local '{chain[1]}'" if len(chain) > 1 else "no component-level locals")
            raise ConfigError(f"{where}: template {text!r} reads .locals, but {why}; and component {name!r} has "
                              f"{lack}{' (its locals: ' + ', '.join(sorted(own)) + ')' if own else ''}")

    def _output_edge(self, parent: InstanceRef, path: str) -> Dependency:
        """The implicit edge a deferred output at `path` (`vars.vpc_id`) makes, one per parent and path."""
        key = (parent, path)
        dependency = self._ref_dependencies.get(key)
        if dependency is None:
            dependency = self._ref_dependencies[key] = Dependency(parent, "terraform.output", entry=path)
        return dependency

    def _terraform_ref(
        self, section: dict[str, Any], stack: str, name: str, refs: list[Dependency]
    ) -> Callable[[TerraformFunction, str], TerraformOutputRef]:
        def convert(marker: TerraformFunction, path: str) -> TerraformOutputRef:
            args = marker.args
            if self.atmos.quoted_templates and "'{{" in args:
                # Atmos renders the text with the delimiters ["'{{", "}}'"]: the quotes are theirs
                args = args.replace("'{{", "{{").replace("}}'", "}}")
            if "locals" in args:
                self._check_locals(args, str(marker), section, f"{marker.file}:{marker.line}: !{marker.function} in "
                                   f"stack {stack!r} component {name!r}", name)
            if "{{" in args:
                try:
                    args = self._render_passes(args, section)
                except TemplateError as exc:
                    raise ConfigError(
                        f"{marker.file}:{marker.line}: !{marker.function} in stack {stack!r} "
                        f"component {name!r}: {exc}"
                    ) from None
            # The same marker (a catalog value) in the same stack is the same reference: build it once.
            key = (id(marker), args, stack)
            cached = self._refs.get(key)
            if cached is not None and cached[0] is marker:
                ref = cached[1]
            else:
                component, target_stack, output, out_path, default = parse_terraform_function(marker, args)
                ref = TerraformOutputRef(
                    parent=self.dependency_reader.refs.get(target_stack or stack, component),
                    output=output,
                    path=out_path,
                    function=marker.function,  # type: ignore[arg-type]
                    source_file=marker.file,
                    default=default,
                )
                self._refs[key] = (marker, ref)
            refs.append(self._output_edge(ref.parent, path))
            return ref

        return convert

    def _terraform_refused(self, stack: str, name: str) -> Callable[[TerraformFunction, str], Any]:
        def refuse(marker: TerraformFunction, path: str) -> Any:
            raise ConfigError(
                f"{marker.file}:{marker.line}: stack {stack!r} component {name!r}: {path}: "
                f"!{marker.function} is only supported in vars"
            )

        return refuse

    def _defined_in(self, name: str, *keys: str) -> str:
        found = self.definer(self.stack_file, ("components", "terraform", name, *keys))
        if found is None and keys:
            found = self.definer(self.stack_file, ("components", "terraform", name))
        return found or self.where

    def _origin(self, name: str, path: str) -> str:
        """The file that gives the component its value at `path` (its own, a base's, the stack's)."""
        section, _, rest = path.partition(".")
        key = rest.split(".")[0].split("[")[0]
        owners = (name, *reversed(self._chains.get(name) or ()))  # the nearest definition wins
        for keys in (
            ("components", "terraform", name, "overrides", section, key),
            *(("components", "terraform", owner, section, key) for owner in owners),
            ("terraform", section, key),
            (section, key),
        ):
            found = self.definer(self.stack_file, keys)
            if found:
                return found
        return self.where


@lru_cache(maxsize=4096)
def _safe_component_name(name: str) -> bool:
    """Usable in paths: `SAFE_COMPONENT_NAME`, no `..` part (asked once per name, not per stack)."""
    return bool(SAFE_COMPONENT_NAME.match(name)) and ".." not in name.split("/")


def _environ_value(environ: Mapping[str, str], marker: EnvFunction) -> str:
    return environ.get(marker.name, marker.default or "")


class _EnvLookup:
    """`!env` outside the env section: the instance's `env` section first (as Atmos), then the
    environment; `section` is set for each instance."""

    __slots__ = ("environ", "section")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.section: dict[str, Any] = _EMPTY

    def __call__(self, marker: EnvFunction) -> str:
        env = self.section
        if marker.name in env and not isinstance(env[marker.name], EnvFunction):
            value = env[marker.name]
            return "" if value is None else _go_string(value)
        return _environ_value(self.environ, marker)


def _go_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unique(dependencies: list[Dependency]) -> list[Dependency]:
    """Each (parent, via) once, first declaration kept."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for dep in dependencies:
        key = (dep.parent.stack, dep.parent.component, dep.via)
        if key not in seen:
            seen.add(key)
            out.append(dep)
    return out
