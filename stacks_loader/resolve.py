"""Load an Atmos-style repository: every stack instance resolved, and their dependency graph.

    stackset = load_stacks(Path("examples/acme"), environ={})
    graph = stackset.graph()      # validated: unknown parents and cycles are ConfigErrors

Each instance has its own top-level `vars`/`settings`/… dicts; values nested deeper may be shared
with other instances (merging never copies what it does not change): treat them as read-only,
as `deferred.fill_deferred` does by returning copies.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig, load_atmos_config
from .component_plan import ComponentPlans
from .component_reads import fill_component_reads
from .components import ResolvedInstance, StackResolver
from .deferred import deferred_refs
from .dependencies import LEGACY_CONTEXT, DependencyReader, LegacyMatch
from .gc_pause import paused_gc
from .globs import compile_glob
from .graph import DependencyGraph
from .imports import StackImporter, Visit
from .manifests import ManifestReader
from .model import Dependency, InstanceRef, StackInstance
from .naming import context_from_vars
from .provenance import PROVENANCE_SECTIONS, find_definer, instance_provenance
from .refs import InstanceRefs
from .source import SourceTree, as_source_tree

_STACK_EXTENSIONS = (".yaml", ".yml", ".yaml.tmpl", ".yml.tmpl")


@dataclass
class StackSet:
    """Every instance of every stack (abstract and disabled included), and what was noticed."""

    instances: dict[InstanceRef, StackInstance]
    atmos: AtmosConfig
    warnings: list[str] = field(default_factory=list)
    _importer: StackImporter | None = field(default=None, repr=False, compare=False)
    _visits: dict[str, list[Visit]] = field(default_factory=dict, repr=False, compare=False)
    # instances several manifests of one stack produce: every manifest's version, the owner's first
    versions: dict[InstanceRef, list[StackInstance]] = field(default_factory=dict)
    # those the manifests resolve differently: the first other version (the owner's is in
    # `instances`); what needs them is refused (`refuse_ambiguous`)
    ambiguous: dict[InstanceRef, StackInstance] = field(default_factory=dict)
    # stacks a scoped load (`affected_scope`) found but resolved no instance of: they exist
    reached_stacks: set[str] = field(default_factory=set)
    # every top-level manifest a full load read, with its own `name:` ("" when it has none)
    manifest_names: dict[str, str] = field(default_factory=dict)

    def stack_names(self) -> set[str]:
        """Every stack this set knows exists (a scoped load knows those the change reached)."""
        return {ref.stack for ref in self.instances} | self.reached_stacks

    def deployable(self) -> dict[InstanceRef, StackInstance]:
        return {ref: inst for ref, inst in self.instances.items() if inst.deployable}

    def graph(self) -> DependencyGraph:
        """The graph of deployable instances, validated.

        An edge to a disabled instance is dropped (with a warning); one to an unknown or abstract
        instance is a `ConfigError` (but `!terraform.state` of an abstract one: see
        `_refuse_or_drop`); a cycle is a `CycleError`.
        """
        with paused_gc():  # as in `load_stacks`: many new containers, no garbage
            deployable = self.deployable()
            refs = sorted(deployable, key=_ref_order)
            edges: list[tuple[InstanceRef, InstanceRef]] = []
            for ref in refs:
                inst = deployable[ref]
                for dep in inst.dependencies:
                    if dep.parent not in deployable:  # the exception: refused, or dropped if disabled
                        self._refuse_or_drop(inst, dep)
                        continue
                    edges.append((dep.parent, ref))
            digraph = nx.DiGraph()
            digraph.add_nodes_from(refs)
            digraph.add_edges_from(edges)
            graph = DependencyGraph(digraph)
            graph.check_acyclic()
        return graph

    def visits(self, stack_file: str) -> list[Visit]:
        """The manifests merged into the stack manifest `stack_file`, in merge order."""
        if stack_file not in self._visits:
            if self._importer is None:
                return []
            self._visits[stack_file] = self._importer.visits(stack_file)
        return self._visits[stack_file]

    def provenance(self, ref: InstanceRef) -> dict[str, str]:
        """For each top-level key of vars/settings/env: the manifest (repo-relative) that set it."""
        inst = self.instances[ref]
        sections = {name: getattr(inst, name) for name in PROVENANCE_SECTIONS}
        return instance_provenance(
            self.visits(inst.stack_file),
            inst.component,
            inst.inheritance,
            sections,
            self.atmos.stacks_path,
            self.atmos.config_file,
            self.atmos.env,
        )

    def refuse_ambiguous(self, refs: Iterable[InstanceRef], what: str) -> None:
        """A `ConfigError` when one of `refs` is defined differently by two manifests of its stack."""
        for ref in sorted(set(refs) & self.ambiguous.keys()) if self.ambiguous else ():
            raise ConfigError(f"{self._ambiguity(ref)}, so {what} is refused (a component of a stack split over "
                              "several manifests must resolve the same in each)")

    def _ambiguity(self, ref: InstanceRef) -> str:
        first, other = self.instances[ref], self.ambiguous[ref]
        return (f"stack {ref.stack!r} component {ref.component!r} is defined differently by two manifests of the "
                f"stack: {self.atmos.stacks_path(first.stack_file)} and {self.atmos.stacks_path(other.stack_file)}")

    def _refuse_or_drop(self, inst: StackInstance, dep: Dependency) -> None:
        """An edge from a parent that is not deployable: a `ConfigError` when the parent is unknown
        or abstract; when it is disabled, a warning that the edge is dropped.

        But an abstract parent that only `!terraform.state` reads is no edge at all: it stands for
        state that something else deploys (Cloud Posse's examples model another repo's VPC so), and
        Atmos reads that state from the parent's backend. The run does the same before its first plan.
        """
        parent = self.instances.get(dep.parent)
        if parent is not None and parent.abstract and dep.via == "terraform.output":
            output_read = _output_read_path(inst.vars, parent.ref, "vars")
            if output_read is None:
                return
            dep = replace(dep, entry=output_read)  # the read at fault, not the first read of it
        if parent is None or parent.abstract:
            raise ConfigError(self._bad_parent(inst, dep, parent))
        self._warn(
            f"{self.atmos.stacks_path(inst.stack_file)}: {inst.ref} depends on {dep.parent} "
            f"({dep.entry or dep.via}), which is disabled; the edge is dropped"
        )

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _bad_parent(self, inst: StackInstance, dep: Dependency, parent: StackInstance | None) -> str:
        where = f"{self.atmos.stacks_path(inst.stack_file)}: stack {inst.stack!r} component {inst.component!r}"
        entry = dep.entry or dep.via
        if parent is not None:
            also = ("; it is never deployed, so it has no outputs (only !terraform.state may read an abstract "
                    "component: its state, from its backend)") if dep.via == "terraform.output" else ""
            return f"{where}: {entry} depends on {dep.parent}, which is abstract (metadata.type: abstract){also}"
        stacks = {r.stack for r in self.instances}
        if dep.parent.stack not in stacks:
            why = f"there is no stack {dep.parent.stack!r}"
        else:
            why = f"stack {dep.parent.stack!r} has no component {dep.parent.component!r}"
        return f"{where}: {entry} depends on {dep.parent}, but {why}"


def load_stacks(
    tree: SourceTree | str | os.PathLike[str],
    environ: Mapping[str, str] = {},  # noqa: B006 (read only)
    *,
    allow_exec: bool = False,
) -> StackSet:
    """Resolve every stack of the repository `tree` (a `SourceTree` or a folder path).

    `environ` stands in for the process environment (`ATMOS_*`, `!env`); nothing is read from
    `os.environ`, nothing is run, nothing is written.
    """
    # Loading allocates millions of small objects and frees almost none: see `gc_pause`.
    with paused_gc():
        return _load(as_source_tree(tree), environ, allow_exec)


def _load(tree: SourceTree, environ: Mapping[str, str], allow_exec: bool) -> StackSet:
    atmos = load_atmos_config(tree, environ)
    warnings: list[str] = []
    seen: set[str] = set()

    def warn(message: str) -> None:
        if message not in seen:
            seen.add(message)
            warnings.append(message)

    for note in atmos.notes:
        warn(note)

    prefix = f"{atmos.stacks_base_path}/" if atmos.stacks_base_path else ""
    stack_files = {path[len(prefix) :] for path in tree.walk_files(atmos.stacks_base_path)}
    if not stack_files:
        raise ConfigError(f"{atmos.config_file}: stacks.base_path {atmos.stacks_base_path or '.'}/ has no files")
    manifests = stack_manifests(stack_files, atmos)
    reader = ManifestReader(tree, environ, base_path=atmos.base_path, allow_exec=allow_exec,
                            key_delimiter=atmos.yaml_key_delimiter)
    importer = StackImporter(reader, atmos, stack_files, warn)
    stackset = StackSet({}, atmos, warnings, importer)
    folders: dict[str, bool] = {}

    def definer(stack_file: str, keys: tuple[Any, ...]) -> str | None:
        found = find_definer(stackset.visits(stack_file), keys)
        return atmos.stacks_path(found.path) if found else None

    def folder_exists(path: str) -> bool:
        exists = folders.get(path)
        if exists is None:
            exists = folders[path] = tree.is_dir(path)
            if not exists:
                warn(f"component folder {path} does not exist")
        return exists

    refs = InstanceRefs()
    dependency_reader = DependencyReader(refs)
    clean_values: dict[tuple[int, int], Any] = {}
    plans = ComponentPlans(inherit_metadata=atmos.inherit_metadata, inherit_source=atmos.inherit_source)
    pending: list[tuple[StackInstance, list[LegacyMatch]]] = []
    reads: list[InstanceRef] = []  # instances whose values read another instance's sections
    for manifest in manifests:
        merged = importer.merged(manifest)
        plans.appends |= merged.markers.append  # its bases may hold `!append` lists
        resolver = StackResolver(
            merged,
            atmos,
            environ,
            warn=warn,
            definer=definer,
            folder_exists=folder_exists,
            dependency_reader=dependency_reader,
            clean_values=clean_values,
            plans=plans,
        )
        name = resolver.manifest_name
        stackset.manifest_names[manifest] = name if isinstance(name, str) else ""
        resolved: list[ResolvedInstance] = resolver.resolve()
        for item in resolved:
            inst = item.instance
            if not claim_instance(stackset, refs.get(inst.stack, inst.component), inst):
                continue  # the same instance from an earlier manifest of its stack: that one is kept
            if item.legacy:
                pending.append((inst, item.legacy))
            if item.pending:
                reads.append(inst.ref)
    if reads:
        fill_component_reads(stackset.instances, reads, atmos, environ, warn)
    if pending:
        _match_legacy(stackset.instances, pending, atmos)
    return stackset


def _output_read_path(value: Any, parent: InstanceRef, path: str) -> str | None:
    """Where (`vars.x`, `vars.ids[0]`) `value` reads `parent` other than by `!terraform.state`."""
    if isinstance(value, dict):
        items: Iterable[tuple[str, Any]] = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{n}]", item) for n, item in enumerate(value))
    else:
        reads = deferred_refs(value)
        return path if any(r.parent == parent and r.function != "terraform.state" for r in reads) else None
    for where, item in items:
        found = _output_read_path(item, parent, where)
        if found is not None:
            return found
    return None


def claim_instance(stackset: StackSet, ref: InstanceRef, inst: StackInstance) -> bool:
    """Whether `inst` is new (then it is added as `ref`), or a copy from a later manifest (False).

    As Atmos' parent-scoped multi-file stacks: several top-level manifests may produce one stack,
    each resolving its own components in its own scope; an instance two of them produce (a
    catalog both import) should resolve the same, and the lexically first manifest owns it.
    Manifests are resolved in sorted order, so the first one seen is that one. Resolved
    differently, it is ambiguous, as in Atmos (whose `describe stacks` keeps whichever manifest
    its map walk meets last, and whose `describe component` refuses it): the load goes on, with a
    warning, and whatever needs that instance is refused (`StackSet.refuse_ambiguous`).
    """
    owner = stackset.instances.setdefault(ref, inst)  # one hash of `ref` in the common case
    if owner is inst:
        return True
    stackset.versions.setdefault(ref, [owner]).append(inst)  # `describe affected` compares each manifest's
    if ref not in stackset.ambiguous and replace(inst, stack_file=owner.stack_file, imports=owner.imports) != owner:
        stackset.ambiguous[ref] = inst
        stackset._warn(f"{stackset._ambiguity(ref)}: describe shows the first; deploying it and describe "
                       "component are refused")
    return False


def stack_manifests(stack_files: set[str], atmos: AtmosConfig) -> list[str]:
    """Top-level stack manifests: `stacks.included_paths` minus `stacks.excluded_paths`."""
    included: set[str] = set()
    for pattern in atmos.included_paths:
        patterns = [pattern]
        if not posixpath.splitext(pattern.rsplit("/", 1)[-1])[1]:
            patterns = [pattern + ext for ext in _STACK_EXTENSIONS]
        for candidate in patterns:
            regex = compile_glob(candidate[2:] if candidate.startswith("./") else candidate)
            included.update(f for f in stack_files if regex.match(f))
    excluded = [compile_glob(p[2:] if p.startswith("./") else p) for p in atmos.excluded_paths]
    chosen = sorted(f for f in included if f.endswith(_STACK_EXTENSIONS) and not any(r.match(f) for r in excluded))
    if not chosen:
        raise ConfigError(
            f"{atmos.config_file}: no stack manifests in {atmos.stacks_base_path or '.'}/ match "
            f"stacks.included_paths {list(atmos.included_paths)} (minus excluded_paths)"
        )
    return chosen


def _match_legacy(
    instances: dict[InstanceRef, StackInstance],
    pending: list[tuple[StackInstance, list[LegacyMatch]]],
    atmos: AtmosConfig,
) -> None:
    """Resolve `settings.depends_on` entries with context fields against every instance's vars."""
    by_component: dict[str, list[tuple[StackInstance, dict[str, str]]]] = {}
    for inst in instances.values():
        by_component.setdefault(inst.component, []).append((inst, context_from_vars(inst.vars)))
    for old, matches in pending:
        inst = instances[old.ref]  # the instance as kept (`fill_component_reads` may have replaced it)
        for match in matches:
            wanted = dict(match.context)
            found = [
                candidate
                for candidate, context in by_component.get(match.component, [])
                if all(context.get(key, "") == value for key, value in wanted.items())
            ]
            if not found:
                inst.dependencies.append(
                    Dependency(InstanceRef(_guess_stack(wanted, atmos), match.component), "settings.depends_on",
                               entry=match.entry)
                )
            for candidate in sorted(found, key=lambda c: c.ref):
                dep = Dependency(candidate.ref, "settings.depends_on", entry=match.entry)
                if dep not in inst.dependencies:
                    inst.dependencies.append(dep)


def _guess_stack(context: dict[str, str], atmos: AtmosConfig) -> str:
    if atmos.name_pattern:
        parts = [context.get(token[1:-1], "") for token in atmos.name_pattern.split("-")]
    else:
        parts = [context.get(key, "") for key in LEGACY_CONTEXT]
    return "-".join(p for p in parts if p) or "?"


def _ref_order(ref: InstanceRef) -> tuple[str, str]:
    """`InstanceRef`'s own order, as a key: sorting then compares plain tuples in C."""
    return (ref.stack, ref.component)
