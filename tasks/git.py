"""The thin git adapter: the only place that runs git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from stackflow.errors import GitError


def _git(repo: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to read refs)") from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise GitError(f"{repo}: git {' '.join(args)}: {detail}")
    return proc.stdout


def head_commit(repo: Path) -> str:
    """The commit checked out in `repo`, or "" when it is not inside a git repository."""
    try:
        return _git(repo, "rev-parse", "HEAD").strip()
    except GitError:
        return ""


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool | None:
    """Whether `ancestor` is `descendant` or one of its ancestors; None when git cannot tell
    (a commit missing from `repo`, e.g. a newer one not fetched yet, or not a repository)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor, descendant],
            capture_output=True, text=True, timeout=60,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (needed to compare commits)") from None
    if proc.returncode in (0, 1):
        return proc.returncode == 0
    return None


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit `ref` names in `repo`; an unknown ref is a one-line `GitError`."""
    if not ref or ref.startswith("-"):
        raise GitError(f"{repo}: {ref!r} is not a git ref")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError:
        raise GitError(f"{repo}: unknown git ref {ref!r} (not a commit in this repository)") from None


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    """Repo-relative paths that differ between the trees of `base` and `head` (both sides of a
    rename, deleted files included), sorted."""
    base_commit, head_commit_ = resolve_ref(repo, base), resolve_ref(repo, head)
    out = _git(repo, "diff", "--name-only", "--no-renames", "-z", base_commit, head_commit_, "--")
    return sorted({path for path in out.split("\0") if path})


class GitTree:
    """A `SourceTree` over the tree of one commit, read from git's object store.

    Never reads or writes the worktree or the index: `git ls-tree` lists the files once and a
    single `git cat-file --batch` process serves the blobs the loader asks for.
    """

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = Path(repo)
        self.commit = resolve_ref(self.repo, ref)
        self.ref = ref
        listing = _git(self.repo, "ls-tree", "-r", "-z", "--full-tree", self.commit)
        self._blobs: dict[str, str] = {}
        self._dirs: set[str] = {""}
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode, kind, sha = meta.split()
            if kind != "blob" or mode == "120000":  # submodules and symlinks are not files here
                continue
            self._blobs[path] = sha
            parent = path.rpartition("/")[0]
            while parent not in self._dirs:
                self._dirs.add(parent)
                parent = parent.rpartition("/")[0]
        self._cache: dict[str, bytes] = {}
        self._batch: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"GitTree({str(self.repo)!r}, {self.ref!r})"

    def files(self) -> list[str]:
        return sorted(self._blobs)

    def blob_ids(self) -> dict[str, str]:
        """Each file's git blob id: two trees hold the same file exactly when the ids are equal."""
        return dict(self._blobs)

    def _norm(self, relpath: str) -> str:
        from stackflow.stacks_loader.source import normalize_relpath

        return normalize_relpath(relpath)

    def read_bytes(self, relpath: str) -> bytes:
        rel = self._norm(relpath)
        if rel in self._cache:
            return self._cache[rel]
        sha = self._blobs.get(rel)
        if sha is None:
            raise FileNotFoundError(relpath)
        data = self._cat(sha)
        self._cache[rel] = data
        return data

    def _cat(self, sha: str) -> bytes:
        if self._batch is None:
            self._batch = subprocess.Popen(
                ["git", "-C", str(self.repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        assert self._batch.stdin is not None and self._batch.stdout is not None
        self._batch.stdin.write(sha.encode() + b"\n")
        self._batch.stdin.flush()
        header = self._batch.stdout.readline().split()
        if len(header) != 3:
            raise GitError(f"{self.repo}: git cat-file could not read blob {sha}")
        data = self._batch.stdout.read(int(header[2]))
        self._batch.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._batch is not None:
            if self._batch.stdin:
                self._batch.stdin.close()
            self._batch.wait(timeout=10)
            self._batch = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def is_file(self, relpath: str) -> bool:
        try:
            return self._norm(relpath) in self._blobs
        except Exception:
            return False

    def is_dir(self, relpath: str) -> bool:
        try:
            return self._norm(relpath) in self._dirs
        except Exception:
            return False

    def walk_files(self, reldir: str) -> list[str]:
        rel = self._norm(reldir)
        if rel not in self._dirs:
            return []
        prefix = f"{rel}/" if rel else ""
        return sorted(path for path in self._blobs if path.startswith(prefix))


def affected_between(repo: Path, base: str, head: str, *, include_dependents: bool = False,
                     environ: dict[str, str] | None = None, stack: str | None = None):
    """What changed between two commits of `repo`: both trees read from git (never the
    worktree), resolved and compared by the pure `stacks_loader.affected`."""
    from stackflow.stacks_loader.affected_scope import affected_scoped

    repo = Path(repo)
    base_tree, head_tree = GitTree(repo, base), GitTree(repo, head)
    try:
        return affected_scoped(
            base_tree, head_tree, changed_files(repo, base_tree.commit, head_tree.commit),
            include_dependents=include_dependents, environ=environ or {}, stack=stack,
        )
    finally:
        base_tree.close()
        head_tree.close()


def changed_between(base: "GitTree", head: "GitTree") -> list[str]:
    """Paths whose content differs between two commits, which may live in two repositories
    (an already cloned target, as Atmos' `--repo-path`): added, removed or changed, sorted."""
    before, after = base.blob_ids(), head.blob_ids()
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def affected_against_clone(repo: Path, clone: Path, head: str, *, include_dependents: bool = False,
                           environ: dict[str, str] | None = None, stack: str | None = None):
    """`affected_between` with the base read from the HEAD commit of another checkout (`clone`)."""
    from stackflow.stacks_loader.affected_scope import affected_scoped

    base_tree, head_tree = GitTree(Path(clone), "HEAD"), GitTree(Path(repo), head)
    try:
        return affected_scoped(base_tree, head_tree, changed_between(base_tree, head_tree),
                               include_dependents=include_dependents, environ=environ or {}, stack=stack)
    finally:
        base_tree.close()
        head_tree.close()


def default_base(repo: Path) -> str:
    """Atmos' default target outside CI: the remote's default branch (`refs/remotes/origin/HEAD`)."""
    try:
        resolve_ref(Path(repo), "refs/remotes/origin/HEAD")
    except GitError:
        raise GitError(f"{repo}: no --base given and refs/remotes/origin/HEAD does not exist: name the commit to "
                       "compare with (--base REF) or a clone of it (--repo-path DIR)") from None
    return "refs/remotes/origin/HEAD"


def select_change(repo: Path, environ: dict[str, str], *, base: str | None = None, head: str | None = None,
                  affected_file: str | None = None, include_dependents: bool = True,
                  allow_exec: bool = False):
    """The `DeployTarget` for a change: `base`..`head` compared here, or an affected JSON made
    elsewhere (CI), mapped onto the repo as checked out. Deleted instances come back as
    `excluded` (a deploy never destroys them on its own)."""
    from stackflow.errors import ConfigError
    from stackflow.stacks_loader.affected_json import (
        DELETED_REASON, read_affected_file, refs_from_entries)
    from stackflow.stacks_loader.resolve import load_stacks
    from stackflow.stacks_loader.selection import select_refs

    if affected_file and (base or head):
        raise ConfigError("--affected-file and --base/--head cannot be combined")
    repo = Path(repo)
    stackset = load_stacks(repo, environ, allow_exec=allow_exec)
    if affected_file:
        entries = read_affected_file(affected_file)
        refs, deleted = refs_from_entries(entries, stackset, affected_file,
                                          include_dependents=include_dependents)
        return select_refs(stackset, refs, excluded=deleted)
    if not base:
        raise ConfigError("--head needs --base (the commit to compare with)")
    checked_out, wanted = head_commit(repo), resolve_ref(repo, head or "HEAD")
    if checked_out and checked_out != wanted:
        raise ConfigError(f"{repo}: the checkout is at {checked_out[:12]} but --head {head} is {wanted[:12]}: "
                          "check out the head commit first (a deploy runs the checked-out files)")
    aset = affected_between(repo, base, head or "HEAD", include_dependents=include_dependents,
                            environ=environ)
    refs = aset.selection()
    return select_refs(stackset, refs & set(stackset.instances),
                       excluded={ref: DELETED_REASON for ref in aset.deleted})
