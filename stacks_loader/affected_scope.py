"""Affected without resolving the whole repo: resolve only the stacks a change can reach.

A cheap text index of the stack files (which files each one imports, read from its `import:`
block alone; which words it mentions) answers, for each top-level stack manifest, "can this
change alter one of its instances?":

- a changed stack file: the manifests that import it (transitively), in base or in head;
- a changed file in a component folder, or in a local module a component calls: the manifests
  whose imports mention that folder's name (the component or `metadata.component` names it);
- any other changed file (a `depends_on` file/folder, an `!include`): the manifests whose
  imports mention its path, one of its folders, or its name.

Anything the index cannot read for sure (a templated import, a changed atmos.yaml) widens the
scope, up to the whole repo: the answer is always the one `affected_between_trees` gives over
every stack (a test and the benchmark check it), only faster.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import yaml

from .affected import AffectedSet, ModuleIndex, affected_between_trees
from .atmos_config import AtmosConfig, load_atmos_config
from .globs import compile_glob, is_glob
from .component_plan import ComponentPlans
from .components import StackResolver
from .dependencies import DependencyReader, LegacyMatch
from .gc_pause import paused_gc
from .imports import StackImporter
from .manifests import ManifestReader
from .model import StackInstance
from .provenance import find_definer
from .resolve import StackSet, _match_legacy, claim_instance, load_stacks, stack_manifests
from .source import SourceTree

_EXTENSIONS = (".yaml", ".yml", ".yaml.tmpl", ".yml.tmpl")
_IMPORT_BLOCK = re.compile(r"^import:[^\n]*\n?(?:(?:[ \t-][^\n]*|[ \t]*#[^\n]*|[ \t]*)\n?)*", re.MULTILINE)
_UNKNOWN = None  # an import list the index cannot read for sure


def affected_scoped(
    base_tree: SourceTree,
    head_tree: SourceTree,
    changed: Iterable[str],
    *,
    include_dependents: bool = False,
    environ: Mapping[str, str] = {},  # noqa: B006 (read only)
    stack: str | None = None,
) -> AffectedSet:
    """Same answer as `affected_between_trees`, resolving only the stacks the change can reach.

    With `include_dependents` the head is resolved whole (dependents need the whole graph).
    `stack`: the one stack the caller keeps (`--stack`); when the change does not reach it, the
    comparison is the whole one, which knows whether that stack exists at all.
    """
    changed_files = sorted(set(changed))
    base_atmos, head_atmos = load_atmos_config(base_tree, environ), load_atmos_config(head_tree, environ)
    if base_atmos != head_atmos or any(_is_atmos_config(p, head_atmos) for p in changed_files):
        return affected_between_trees(base_tree, head_tree, changed_files,
                                      include_dependents=include_dependents, environ=environ)
    base_index, head_index = StackIndex(base_tree, base_atmos), StackIndex(head_tree, head_atmos)
    if base_index.reads_other_instances() or head_index.reads_other_instances():
        # what a value reads through atmos.Component lies in any stack, outside any import scope
        return affected_between_trees(base_tree, head_tree, changed_files,
                                      include_dependents=include_dependents, environ=environ)
    other_tokens, folder_tokens = _mention_tokens(changed_files, head_atmos, [base_tree, head_tree])
    names = _changed_component_names(changed_files, base_index, head_index)
    if _state_read_of_changed(names, (base_index, head_index)):
        # an abstract component read by !terraform.state carries its change to the reader with no
        # edge, from any stack: outside the changed file's scope
        return affected_between_trees(base_tree, head_tree, changed_files,
                                      include_dependents=include_dependents, environ=environ)
    scope = base_index.scope(changed_files, names, other_tokens, folder_tokens)
    for manifest, wanted in head_index.scope(changed_files, names, other_tokens, folder_tokens).items():
        scope[manifest] = scope[manifest].union(wanted) if manifest in scope else wanted
    head = _load_only(head_tree, environ, head_index, scope)
    if _same_config(changed_files, scope, head_atmos, base_tree, head_tree):
        base = head  # no file the loader reads changed: base resolves to exactly the same values
    else:
        base = _load_only(base_tree, environ, base_index, scope)
        moved = {ref.component for ref in head.instances.keys() ^ base.instances.keys()}
        # An instance added or deleted in the stacks reached: a top-level manifest the change does
        # not reach may define it too (Atmos' stacks made of several manifests), alike in both
        # trees. Those that may (by the names they mention) join the scope for those components.
        if moved and _widen(scope, head_index.may_define(moved) | base_index.may_define(moved), moved):
            head = _load_only(head_tree, environ, head_index, scope)
            base = _load_only(base_tree, environ, base_index, scope)
    if stack is not None and stack not in head.stack_names() | base.stack_names():
        # a --stack the change does not reach: only the whole comparison knows whether it exists
        return affected_between_trees(base_tree, head_tree, changed_files,
                                      include_dependents=include_dependents, environ=environ)
    aset = affected_between_trees(base_tree, head_tree, changed_files, environ=environ, base=base, head=head)
    if include_dependents:
        whole = load_stacks(head_tree, environ)
        graph = whole.graph()
        aset = replace(aset, head=whole, include_dependents=True)
        for ref in aset.affected:
            aset.dependents |= graph.descendants(ref)
        aset.dependents -= set(aset.affected)
    return aset


def _widen(scope: dict[str, "ComponentFilter"], manifests: set[str], names: set[str]) -> bool:
    """Add `manifests` to `scope` for the components `names`; whether the scope grew."""
    grew = False
    for manifest in manifests:
        wanted = scope.get(manifest)
        if wanted is None:
            scope[manifest] = ComponentFilter(names=set(names))
            grew = True
        elif not wanted.everything and not names <= wanted.names:
            wanted.names |= names
            grew = True
    return grew


def _same_config(changed: list[str], scope: dict[str, "ComponentFilter"], atmos: AtmosConfig,
                 base_tree: SourceTree, head_tree: SourceTree) -> bool:
    """Whether no file the loader reads changed: no stack file, nothing a stack mentions by path
    (an `!include`), and no component folder appeared or vanished."""
    prefix = f"{atmos.stacks_base_path}/" if atmos.stacks_base_path else ""
    if not prefix or any(path.startswith(prefix) for path in changed):
        return False
    if any(wanted.everything for wanted in scope.values()):
        return False
    folders = {folder for path in changed for folder in _ancestors(path)}
    return all(base_tree.is_dir(folder) == head_tree.is_dir(folder) for folder in folders)


def _is_atmos_config(path: str, atmos: AtmosConfig) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path == atmos.config_file or path in atmos.imported_files or name in ("atmos.yaml", "atmos.yml", ".atmos.yaml", ".atmos.yml") \
        or path.startswith((".atmos.d/", "atmos.d/"))


def _mention_tokens(
    changed: list[str], atmos: AtmosConfig, trees: list[SourceTree]
) -> tuple[set[str], set[str]]:
    """Words whose mention in a stack file's imports may tie one of its instances to the change:
    (paths of changed files outside the stacks, component folders holding or calling the change)."""
    stacks_prefix = f"{atmos.stacks_base_path}/" if atmos.stacks_base_path else ""
    tf_base = atmos.terraform_base_path
    structural = {tf_base, atmos.stacks_base_path, *_ancestors(tf_base), *_ancestors(atmos.stacks_base_path)}
    tokens: set[str] = set()
    folder_tokens: set[str] = set()
    changed_folders: set[str] = set()
    for path in changed:
        if stacks_prefix and path.startswith(stacks_prefix):
            continue  # handled by the import closure
        # a depends_on file or folder, or an `!include`: its path, folders and name
        tokens.add(path)
        tokens.add(path.rsplit("/", 1)[-1])
        tokens |= {folder for folder in _ancestors(path) if folder not in structural}
        changed_folders.update(_ancestors(path))
    if changed_folders:
        # component folders holding the change, and every component folder calling a local module
        # that holds it (the module may lie anywhere in the repo, e.g. a top-level modules/)
        folders = {folder for folder in changed_folders if folder.startswith(tf_base + "/")}
        modules = ModuleIndex(trees)
        for folder in _component_folders(trees, tf_base):
            if any(mod in changed_folders for mod in modules.local_modules(folder)):
                folders.add(folder)
        folder_tokens = {folder[len(tf_base) + 1:] for folder in folders}
    return {t for t in tokens if t}, {t for t in folder_tokens if t}


def _ancestors(path: str) -> Iterator[str]:
    parent = posixpath.dirname(path)
    while parent:
        yield parent
        parent = posixpath.dirname(parent)


def _component_folders(trees: list[SourceTree], tf_base: str) -> set[str]:
    folders: set[str] = set()
    for tree in trees:
        folders |= {path.rpartition("/")[0] for path in tree.walk_files(tf_base) if path.endswith(".tf")}
    return folders


class StackIndex:
    """Per stack file: the files its `import:` block names (or unknown) and its text."""

    def __init__(self, tree: SourceTree, atmos: AtmosConfig) -> None:
        self.tree, self.atmos = tree, atmos
        prefix = f"{atmos.stacks_base_path}/" if atmos.stacks_base_path else ""
        self.files = {path[len(prefix):] for path in tree.walk_files(atmos.stacks_base_path)}
        self.manifests = stack_manifests(self.files, atmos)
        self.text: dict[str, str] = {}
        self.imports: dict[str, frozenset[str] | None] = {}
        for path in self.files:
            if path.endswith(_EXTENSIONS):
                text = tree.read_bytes(atmos.stacks_path(path)).decode("utf-8", "replace")
                self.text[path] = text
                self.imports[path] = self._imports(path, text)
        self.imported = set().union(*(i for i in self.imports.values() if i)) if self.imports else set()
        self._closure: dict[str, frozenset[str] | None] = {}

    def reads_other_instances(self) -> bool:
        """Whether a stack file may read another instance's sections (`atmos.Component`)."""
        return any("atmos.Component" in text for text in self.text.values())

    def may_define(self, names: set[str]) -> set[str]:
        """Top-level manifests that may define a component named in `names`: a file they merge
        mentions one, or renders templates or includes another file, or their imports are unknown."""
        pattern = _token_regex(frozenset(names))
        hits = {path for path, text in self.text.items()
                if "{{" in text or "!include" in text or pattern.search(text)}
        return {manifest for manifest in self.manifests
                if (files := self.closure(manifest)) is None or not files.isdisjoint(hits)}

    def closure(self, path: str) -> frozenset[str] | None:
        """Every stack file `path` merges in (itself included), or None if unknown."""
        if path in self._closure:
            return self._closure[path]
        seen: set[str] = set()
        todo = [path]
        result: frozenset[str] | None = None
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            children = self.imports.get(current, frozenset())
            if children is _UNKNOWN:
                break
            todo.extend(children)
        else:
            result = frozenset(seen)
        self._closure[path] = result
        return result

    def scope(
        self, changed: list[str], names: dict[str, frozenset[str] | None], other_tokens: set[str],
        folder_tokens: set[str],
    ) -> dict[str, "ComponentFilter"]:
        """Top-level manifests (stacks-relative) one of whose instances the change may touch,
        each with the components worth resolving."""
        prefix = f"{self.atmos.stacks_base_path}/" if self.atmos.stacks_base_path else ""
        changed_stack_files = {p[len(prefix):] for p in changed if not prefix or p.startswith(prefix)}
        other = _token_regex(frozenset(other_tokens), values_only=True) if other_tokens else None
        folders = _token_regex(frozenset(folder_tokens)) if folder_tokens else None
        cache: dict[tuple[str, int], bool] = {}

        def mentions(path: str, pattern: re.Pattern[str] | None) -> bool:
            key = (path, id(pattern))
            if key not in cache:
                text = self.text.get(path, "")
                cache[key] = bool(pattern and pattern.search(text)) or (pattern is not None and "{{" in text)
            return cache[key]

        out: dict[str, ComponentFilter] = {}
        for manifest in self.manifests:
            files = self.closure(manifest)
            if files is None or any(mentions(f, other) for f in files):
                out[manifest] = ComponentFilter(everything=True)
                continue
            wanted = ComponentFilter()
            for path in files & changed_stack_files:
                changed_names = names.get(path)
                if changed_names is None:
                    wanted.everything = True
                else:
                    wanted.names |= changed_names
            if folders is not None and any(mentions(f, folders) for f in files):
                wanted.folders = folders
            if wanted.everything or wanted.names or wanted.folders is not None:
                out[manifest] = wanted
        return out

    def _imports(self, path: str, text: str) -> frozenset[str] | None:
        if "import" not in text:
            return frozenset()
        if path.endswith(".tmpl") and "{{" in text:
            return _UNKNOWN
        match = _IMPORT_BLOCK.search(text)
        if match is None:
            return frozenset() if not re.search(r"^import\s*:", text, re.MULTILINE) else _UNKNOWN
        try:
            data = yaml.load(match.group(0), Loader=yaml.CSafeLoader)  # noqa: S506 (CSafeLoader)
        except yaml.YAMLError:
            return _UNKNOWN
        entries = (data or {}).get("import") if isinstance(data, dict) else None
        if entries is None:
            return frozenset()
        if isinstance(entries, str):
            entries = [entries]
        if not isinstance(entries, list):
            return _UNKNOWN
        found: set[str] = set()
        for entry in entries:
            target = entry.get("path") if isinstance(entry, dict) else entry
            if not isinstance(target, str) or "{{" in target:
                return _UNKNOWN
            found |= self._targets(target, path)
        return frozenset(found)

    def _targets(self, target: str, importer: str) -> set[str]:
        """What the loader's import resolution would match (a superset is fine)."""
        if target.startswith(("./", "../")):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
        name = target.rsplit("/", 1)[-1]
        candidates = [target, target + ".tmpl"] if name.endswith((".yaml", ".yml")) else \
            [target] if name.endswith(".tmpl") else [target + ext for ext in _EXTENSIONS]
        out: set[str] = set()
        for candidate in candidates:
            if is_glob(candidate):
                regex = compile_glob(candidate)
                out |= {f for f in self.files if regex.match(f)}
            elif candidate in self.files:
                out.add(candidate)
        return out


@lru_cache(maxsize=64)
def _token_regex(tokens: frozenset[str], *, values_only: bool = False) -> re.Pattern[str]:
    """A mention of one of `tokens` as a word. `values_only`: not as a mapping key (`docs:`); a path
    a stack file names (`!include`, a depends_on file or folder) is a value, and a plain YAML
    value cannot hold a colon followed by a space."""
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    key = r"(?!:(?:\s|$))" if values_only else ""
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-]){key}", re.MULTILINE)


@dataclass
class ComponentFilter:
    """Which components of a stack to resolve: all, those named (or inheriting from one named),
    or those whose name, bases or `metadata.component` mention a changed component folder."""

    everything: bool = False
    names: set[str] = field(default_factory=set)
    folders: re.Pattern[str] | None = None

    def union(self, other: "ComponentFilter") -> "ComponentFilter":
        folders = self.folders
        if other.folders is not None:
            folders = other.folders if folders is None else re.compile(f"{folders.pattern}|{other.folders.pattern}")
        return ComponentFilter(self.everything or other.everything, self.names | other.names, folders)

    def wants(self, resolver: StackResolver, name: str) -> bool:
        if self.everything:
            return True
        chain = resolver.chain(name)
        if self.names and (name in self.names or any(base in self.names for base in chain)):
            return True
        if self.folders is not None:
            for candidate in (name, *chain):
                section = resolver.components.get(candidate) or {}
                metadata = section.get("metadata") or {}
                words = [candidate, metadata.get("component"), section.get("component")]
                if any(isinstance(w, str) and (self.folders.search(w) or "{{" in w) for w in words):
                    return True
        return False


def _changed_component_names(
    changed: list[str], base: StackIndex, head: StackIndex
) -> dict[str, frozenset[str] | None]:
    """For each changed stack file: the Terraform components whose section differs, when the
    file differs only there (None: anything else differs too, so every component may change)."""
    prefix = f"{head.atmos.stacks_base_path}/" if head.atmos.stacks_base_path else ""
    out: dict[str, frozenset[str] | None] = {}
    for path in changed:
        if prefix and not path.startswith(prefix):
            continue
        rel = path[len(prefix):]
        before, after = _loose(base.text.get(rel)), _loose(head.text.get(rel))
        if not isinstance(before, dict) or not isinstance(after, dict):
            out[rel] = None
            continue
        b_components, a_components = before.pop("components", None), after.pop("components", None)
        b_tf = (b_components or {}).get("terraform") if isinstance(b_components, dict) else None
        a_tf = (a_components or {}).get("terraform") if isinstance(a_components, dict) else None
        if before != after or not isinstance(b_tf or {}, dict) or not isinstance(a_tf or {}, dict):
            out[rel] = None
            continue
        b_tf, a_tf = b_tf or {}, a_tf or {}
        out[rel] = frozenset(str(n) for n in set(b_tf) | set(a_tf) if b_tf.get(n) != a_tf.get(n))
    return out


_STATE_READ = re.compile(r"""!terraform\.state\s+["']?([^\s"']+)""")


def _state_read_of_changed(names: Mapping[str, frozenset[str] | None], indexes: Iterable["StackIndex"]) -> bool:
    """Whether a `!terraform.state` in some stack file may read a component the changed stack
    files change (None in `names`: any of theirs; a templated argument: any)."""
    if not names:
        return False
    changed = set().union(*(found for found in names.values() if found is not None))
    anything = any(found is None for found in names.values())
    for index in indexes:
        for text in index.text.values():
            if text and "!terraform.state" in text:
                for match in _STATE_READ.finditer(text):
                    if anything or match.group(1) in changed or "{{" in match.group(1):
                        return True
    return False


class _LooseLoader(yaml.CSafeLoader):
    """YAML with any `!tag` read as (tag, text): enough to compare two versions of a file."""


def _tagged(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return ("!" + suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return ("!" + suffix, tuple(loader.construct_sequence(node, deep=True)))
    return ("!" + suffix, repr(loader.construct_mapping(node, deep=True)))


_LooseLoader.add_multi_constructor("!", _tagged)


def _loose(text: str | None) -> Any:
    if text is None or "{{" in text:
        return None
    try:
        return yaml.load(text, Loader=_LooseLoader)  # noqa: S506 (a CSafeLoader subclass)
    except (yaml.YAMLError, TypeError):
        return None


def _load_only(
    tree: SourceTree, environ: Mapping[str, str], index: StackIndex, scope: dict[str, ComponentFilter]
) -> StackSet:
    """Resolve only the manifests in `scope`, and in each only the components its filter wants
    (and the first one's stack name, so a stack that still exists is known to exist: never its
    instance, which the other tree may not resolve, and which would then read as added or
    deleted). Mirrors
    `resolve._load`; the benchmark and `tests/affected` check both give the same answer."""
    atmos = index.atmos
    warnings: list[str] = []
    stackset = StackSet({}, atmos, warnings)
    if not scope:
        return stackset
    reader = ManifestReader(tree, environ, base_path=atmos.base_path, key_delimiter=atmos.yaml_key_delimiter)
    importer = StackImporter(reader, atmos, index.files, warnings.append)
    stackset._importer = importer
    folders: dict[str, bool] = {}

    def definer(stack_file: str, keys: tuple[Any, ...]) -> str | None:
        found = find_definer(stackset.visits(stack_file), keys)
        return atmos.stacks_path(found.path) if found else None

    def folder_exists(path: str) -> bool:
        if path not in folders:
            folders[path] = tree.is_dir(path)
        return folders[path]

    dependency_reader = DependencyReader()
    clean_values: dict[tuple[int, int], Any] = {}
    plans = ComponentPlans(inherit_metadata=atmos.inherit_metadata, inherit_source=atmos.inherit_source)
    pending: list[tuple[StackInstance, list[LegacyMatch]]] = []
    with paused_gc():
        for manifest in sorted(set(scope) & set(index.manifests)):
            merged = importer.merged(manifest)
            plans.appends |= merged.markers.append  # its bases may hold `!append` lists
            resolver = StackResolver(
                merged, atmos, environ, warn=warnings.append, definer=definer,
                folder_exists=folder_exists, dependency_reader=dependency_reader, clean_values=clean_values,
                plans=plans,
            )
            wanted = scope[manifest]
            for i, name in enumerate(resolver.components):
                if not wanted.wants(resolver, name):
                    if not i:
                        stackset.reached_stacks.add(resolver._instance(name).instance.stack)  # noqa: SLF001
                    continue
                item = resolver._instance(name)  # noqa: SLF001 (resolve() does this for every name)
                inst = item.instance
                ref = dependency_reader.refs.get(inst.stack, inst.component)
                if not claim_instance(stackset, ref, inst):
                    continue
                if item.legacy:
                    pending.append((inst, item.legacy))
    if pending:
        _match_legacy(stackset.instances, pending, atmos)
    return stackset
