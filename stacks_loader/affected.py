"""Which instances a change touches: two resolved trees compared, with Atmos' reasons.

    aset = affected_between_trees(base_tree, head_tree, changed_files, include_dependents=True)
    aset.affected      # directly affected, reasons in Atmos' names and order
    aset.deleted       # in base, gone from head: to be destroyed, never silently dropped
    aset.selection()   # what a deploy of the change runs (affected + dependents)

Pure: the trees are `SourceTree`s (a folder or a git commit), `changed` is the list of
repo-relative paths that differ. `tasks.git.affected_between` feeds it from two git refs.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .globs import glob_match, is_glob
from .model import InstanceRef, StackInstance
from .resolve import StackSet, load_stacks
from .source import SourceTree

# The section comparisons, in the order Atmos checks them (`componentSectionChecks`; metadata and
# the component folder come first, settings and file/folder dependencies last).
SECTION_REASONS: tuple[tuple[str, str], ...] = (
    ("vars", "stack.vars"),
    ("env", "stack.env"),
    ("providers", "stack.providers"),
    ("required_providers", "stack.required_providers"),
    ("required_version", "stack.required_version"),
    ("generate", "stack.generate"),
    ("backend", "stack.backend"),
    ("backend_type", "stack.backend_type"),
    ("remote_state_backend", "stack.remote_state_backend"),
    ("remote_state_backend_type", "stack.remote_state_backend_type"),
    ("auth", "stack.auth"),
    ("command", "stack.command"),
    ("dependencies", "stack.dependencies"),
    ("source", "stack.source"),
    ("provision", "stack.provision"),
)
# compared and reported always, apart from the list (`describe.affected.sections` cannot drop them)
_ALWAYS = ("metadata", "settings")
# a section an instance has only when it is not empty (Atmos adds these to the component when set);
# every other one is present even empty, so a new instance reports it
_PRESENT_WHEN_SET = frozenset({"dependencies"})
DELETED, DELETED_STACK = "deleted", "deleted.stack"


@dataclass(frozen=True)
class AffectedInstance:
    """One instance the change touches, and every reason (the first is Atmos' `affected`)."""

    ref: InstanceRef
    reasons: tuple[str, ...]
    component_path: str
    file: str = ""  # the depends_on file that changed (reason `file`)
    folder: str = ""  # the depends_on folder a changed file is in (reason `folder`)
    deletion_type: str = ""  # "component" or "stack" when the instance is gone from head

    @property
    def deleted(self) -> bool:
        return bool(self.deletion_type)

    @property
    def reason(self) -> str:
        return self.reasons[0]


@dataclass
class AffectedSet:
    """The result of comparing two trees."""

    affected: dict[InstanceRef, AffectedInstance]
    deleted: dict[InstanceRef, AffectedInstance]
    head: StackSet
    base: StackSet | None
    include_dependents: bool
    changed: tuple[str, ...] = ()
    # transitive dependents (head graph) of the affected instances that are not affected themselves
    dependents: set[InstanceRef] = field(default_factory=set)

    def selection(self) -> set[InstanceRef]:
        """What a deploy of this change runs: the affected instances (+ dependents if asked)."""
        refs = set(self.affected)
        if self.include_dependents:
            refs |= self.dependents
        return refs


def affected_between_trees(
    base_tree: SourceTree,
    head_tree: SourceTree,
    changed: Iterable[str],
    *,
    include_dependents: bool = False,
    environ: Mapping[str, str] = {},  # noqa: B006 (read only)
    base: StackSet | None = None,
    head: StackSet | None = None,
) -> AffectedSet:
    """Resolve both trees (unless given) and compare every deployable instance of head."""
    changed_files = tuple(sorted(set(changed)))
    base = base if base is not None else load_stacks(base_tree, environ)
    head = head if head is not None else load_stacks(head_tree, environ)
    modules = ModuleIndex([base_tree, head_tree])
    changed_set = set(changed_files)
    affected: dict[InstanceRef, AffectedInstance] = {}
    sections = section_reasons(head.atmos.affected_sections)
    for ref in sorted(head.instances):
        inst = head.instances[ref]
        if not inst.deployable:
            continue
        found = instance_reasons(inst, base.instances.get(ref), changed_files, changed_set, modules, sections,
                                 reads_moved=state_reads_moved(inst, head, base))
        if found is not None:
            affected[ref] = found
    _by_manifest(head, base, affected, changed_files, changed_set, modules, sections)
    deleted = deleted_instances(base, head)
    aset = AffectedSet(affected, deleted, head, base, include_dependents, changed_files)
    if include_dependents and affected:
        graph = head.graph()
        for ref in affected:
            aset.dependents |= graph.descendants(ref)
        aset.dependents -= set(affected)
    return aset


def _by_manifest(head: StackSet, base: StackSet, affected: dict[InstanceRef, Any], *compare: Any) -> None:
    """Instances several manifests of their stack produce (`StackSet.versions`, Atmos' top-level
    stack composition): affected when one manifest's version changed, each compared with that
    manifest's version in base. So an instance two manifests resolve differently is reported as
    any other (deploying it is refused), and the scoped comparison, which may load only the
    changed manifest, gives the same answer. A manifest base lacks (added, or renamed) changed
    nothing when its version equals one base had: a renamed file changes no instance's values."""
    for ref in sorted(head.versions.keys() | base.versions.keys()):
        inst = head.instances.get(ref)
        if inst is None or not inst.deployable:
            continue
        now = {v.stack_file: v for v in head.versions.get(ref, [inst])}
        before_owner = base.instances.get(ref)
        before = {v.stack_file: v for v in base.versions.get(ref, [before_owner] if before_owner else [])}
        found = None
        for manifest in sorted(now):
            version = now[manifest]
            moved = state_reads_moved(version, head, base)
            if manifest in before or not before:
                found = instance_reasons(version, before.get(manifest), *compare, reads_moved=moved)
            else:  # reported against what base showed, unless it equals another manifest's version
                found = instance_reasons(version, before_owner, *compare, reads_moved=moved)
                if found is not None and any(instance_reasons(version, other, *compare, reads_moved=moved) is None
                                             for other in before.values()):
                    found = None
            if found is not None:
                break
        if found is None:
            affected.pop(ref, None)
        else:
            affected[ref] = found


def instance_reasons(
    inst: StackInstance,
    before: StackInstance | None,
    changed: tuple[str, ...],
    changed_set: set[str],
    modules: "ModuleIndex",
    sections: tuple[tuple[str, str], ...] = SECTION_REASONS,
    *,
    reads_moved: bool = False,
) -> AffectedInstance | None:
    """Every reason `inst` (head) is affected compared with `before` (base), or None.

    `reads_moved`: a `!terraform.state` in its vars reads other state than in base (see
    `state_reads_moved`), which changes the vars it plans with as a changed value would.
    """
    reasons: list[str] = []
    # A new instance has no remote section to equal: Atmos reports every section the component
    # has, and it always has `metadata`, `settings` and the Terraform sections (even empty);
    # `dependencies` only when not empty.
    if before is None or before.metadata != inst.metadata:
        reasons.append("stack.metadata")
    folder = inst.component_path
    module_folders = modules.local_modules(folder)
    if any(_under(path, mod) for mod in module_folders for path in changed):
        reasons.append("component.module")
    if any(_under(path, folder) for path in changed):
        reasons.append("component")
    for section, reason in sections:
        now = _section(inst, section)
        if before is None:
            if now or section not in _PRESENT_WHEN_SET:
                reasons.append(reason)
        elif now != _section(before, section) or (reads_moved and section == "vars"):
            reasons.append(reason)
    if before is None or before.settings != inst.settings:
        reasons.append("stack.settings")
    file = _changed_file(inst.depends_on_files, changed, changed_set)
    if file:
        reasons.append("file")
    dep_folder = _changed_folder(inst.depends_on_folders, changed)
    if dep_folder:
        reasons.append("folder")
    if not reasons:
        return None
    return AffectedInstance(inst.ref, tuple(reasons), inst.component_path, file=file, folder=dep_folder)


def state_reads_moved(inst: StackInstance, head: StackSet, base: StackSet) -> bool:
    """Whether an abstract instance that `inst` reads by `!terraform.state` (state deployed
    elsewhere: no edge carries its change to `inst`) now names other state than in base: its
    backend, backend type or workspace differ, or base did not have it."""
    for dep in inst.dependencies:
        if dep.via != "terraform.output":
            continue
        parent = head.instances.get(dep.parent)
        if parent is None or not parent.abstract:
            continue  # a deployed parent: the graph carries its changes (`--include-dependents`)
        before = base.instances.get(dep.parent)
        if before is None or _state_location(before) != _state_location(parent):
            return True
    return False


def _state_location(inst: StackInstance) -> tuple[str, dict[str, Any], str]:
    return inst.backend_type, inst.backend, inst.workspace


def deleted_instances(base: StackSet, head: StackSet) -> dict[InstanceRef, AffectedInstance]:
    """Instances of base whose name head no longer has (a whole stack gone: `deleted.stack`).

    As Atmos (`describe_affected_deleted.go`): only abstract bases of base are skipped, so a
    disabled instance that is removed is reported too; an instance head still has by name (even
    made abstract or disabled there) is not deleted.
    """
    head_stacks = head.stack_names()
    out: dict[InstanceRef, AffectedInstance] = {}
    for ref in sorted(base.instances):
        inst = base.instances[ref]
        if inst.abstract or ref in head.instances:
            continue
        whole = ref.stack not in head_stacks
        out[ref] = AffectedInstance(
            ref, (DELETED_STACK if whole else DELETED,), inst.component_path,
            deletion_type="stack" if whole else "component",
        )
    return out


def section_reasons(configured: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The (section, reason) pairs compared besides metadata and settings: Atmos' defaults, or
    `describe.affected.sections` in its order (`stack.<name>` for each)."""
    if not configured:
        return SECTION_REASONS
    return tuple((name, f"stack.{name}") for name in configured if name not in _ALWAYS)


def _section(inst: StackInstance, section: str) -> Any:
    if section == "dependencies":
        return _dependencies_section(inst)
    if section in inst.reported_sections:
        return inst.reported_sections[section]
    return getattr(inst, section)


def _dependencies_section(inst: StackInstance) -> Any:
    """What Atmos compares for `stack.dependencies`: the whole merged `dependencies` section.

    Without the recorded section, its parts the instance keeps: the `dependencies.components`
    parents, and the watched files and folders unless they may come from `settings.depends_on`
    (a change there is `stack.settings`, which Atmos does not report as `stack.dependencies`).
    """
    if inst.dependencies_section is not None:
        return inst.dependencies_section
    parents = sorted(str(d.parent) for d in inst.dependencies if d.via == "dependencies.components")
    legacy = inst.settings.get("depends_on")
    entries = legacy.values() if isinstance(legacy, Mapping) else legacy if isinstance(legacy, list) else ()
    if any(isinstance(entry, Mapping) and (entry.get("file") or entry.get("folder")) for entry in entries):
        return {"components": parents} if parents else {}
    out: dict[str, Any] = {}
    if parents:
        out["components"] = parents
    if inst.depends_on_files:
        out["files"] = list(inst.depends_on_files)
    if inst.depends_on_folders:
        out["folders"] = list(inst.depends_on_folders)
    return out


def _changed_file(patterns: Iterable[str], changed: tuple[str, ...], changed_set: set[str]) -> str:
    """The first file dependency a changed file matches; paths are doublestar globs in Atmos."""
    for pattern in patterns:
        if pattern in changed_set or (is_glob(pattern) and any(glob_match(pattern, p) for p in changed)):
            return pattern
    return ""


def _changed_folder(patterns: Iterable[str], changed: tuple[str, ...]) -> str:
    """The first folder dependency holding a changed file (Atmos matches `FOLDER/**`)."""
    for pattern in patterns:
        if is_glob(pattern):
            glob = pattern.rstrip("/") + "/**"
            if any(glob_match(glob, p) for p in changed):
                return pattern
        elif any(_under(p, pattern) for p in changed):
            return pattern
    return ""


def _under(path: str, folder: str) -> bool:
    return bool(folder) and (path == folder or path.startswith(folder.rstrip("/") + "/"))


_SOURCE = re.compile(r'^\s*source\s*=\s*"([^"]*)"', re.MULTILINE)
_LOCAL_SOURCE = re.compile(r'source\s*=\s*"\.\.?/')


class ModuleIndex:
    """The local Terraform modules (`module` blocks with a `./` or `../` source) a component
    folder calls, transitively, as repo-relative folders; read from every given tree."""

    def __init__(self, trees: Iterable[SourceTree]) -> None:
        self.trees = list(trees)
        self._direct: dict[str, set[str]] = {}
        self._closure: dict[str, frozenset[str]] = {}

    def local_modules(self, folder: str) -> frozenset[str]:
        if folder in self._closure:
            return self._closure[folder]
        seen: set[str] = set()
        todo = [folder]
        while todo:
            current = todo.pop()
            for module in self._direct_modules(current):
                if module not in seen and module != folder:
                    seen.add(module)
                    todo.append(module)
        self._closure[folder] = frozenset(seen)
        return self._closure[folder]

    def _direct_modules(self, folder: str) -> set[str]:
        if folder not in self._direct:
            found: set[str] = set()
            for tree in self.trees:
                if not tree.is_dir(folder):
                    continue
                for path in tree.walk_files(folder):
                    if path.endswith(".tf") and path.rpartition("/")[0] == folder:
                        text = tree.read_bytes(path).decode("utf-8", "replace")
                        if _LOCAL_SOURCE.search(text):  # python-hcl2 is slow: parse only candidates
                            found |= module_sources(text, folder)
            self._direct[folder] = found
        return self._direct[folder]


def module_sources(text: str, folder: str) -> set[str]:
    """Repo-relative folders of the local modules a `.tf` file in `folder` calls."""
    out = set()
    for source in _local_sources(text):
        joined = posixpath.normpath(posixpath.join(folder, source))
        if not joined.startswith(".."):
            out.add(joined)
    return out


@lru_cache(maxsize=4096)
def _local_sources(text: str) -> tuple[str, ...]:
    """The `./` or `../` sources of the `module` blocks of one `.tf` file."""
    sources: list[str] = []
    try:
        import hcl2

        for block in hcl2.loads(text).get("module", []):
            for body in block.values():
                source = body.get("source") if isinstance(body, dict) else None
                if isinstance(source, str):
                    sources.append(source.strip('"'))
    except Exception:  # a file python-hcl2 cannot parse: fall back to the `source = "…"` lines
        sources = _SOURCE.findall(text)
    return tuple(source for source in sources if source.startswith(("./", "../")))

