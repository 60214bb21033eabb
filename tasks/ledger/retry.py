"""What a retry run covers: the previous run read from the ledger, checked against the repo.

A retry runs on the same commit as the run it retries, so it applies exactly the code that run
was meant to apply; it is refused when the repo's HEAD moved, or when a later run already
applied another commit to the instances it would touch (the retry would roll them back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stackflow.errors import ConfigError
from stackflow.settings import Settings
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.retry import RetrySelection, select_retry
from stackflow.stacks_loader.selection import DeployTarget, select_target
from stackflow.tasks.git import head_commit

from .models import Run
from .store import Ledger


@dataclass
class RetryTarget:
    previous: Run
    repo: Path
    commit: str
    mode: str
    selection: RetrySelection
    target: DeployTarget  # every instance, and the graph of those to retry


def _short(commit: str) -> str:
    return commit[:12] if commit else "(no commit: not a git repository)"


def _check_same_code(previous: Run, repo: Path, commit: str) -> None:
    label = f"retry of run {previous.id}"
    if commit != previous.commit:
        raise ConfigError(
            f"{label}: {repo} is at commit {_short(commit)} but run {previous.id} ran on "
            f"{_short(previous.commit)}; a retry runs the same commit: check it out, or deploy "
            "the new commit instead"
        )
    if not commit and repo != Path(previous.repo):
        raise ConfigError(
            f"{label}: run {previous.id} deployed {previous.repo}, not {repo} (folders that are "
            "not git repositories are identified by their path)"
        )


def prepare_retry(
    ledger: Ledger,
    run: str,
    settings: Settings,
    *,
    repo: str | Path | None = None,
    include_rejected: bool = False,
) -> RetryTarget:
    """The instances of `run` to plan and apply again; a `ConfigError` says why not."""
    previous = ledger.find_run(run)
    assert previous.id is not None
    if previous.status == "running":
        raise ConfigError(f"retry of run {previous.id}: it is still running (started "
                          f"{previous.started_at:%Y-%m-%d %H:%M:%S} UTC by {previous.started_by})")
    repo_path = Path(repo).resolve() if repo else Path(previous.repo)
    if not repo_path.is_dir():
        raise ConfigError(f"retry of run {previous.id}: repo {repo_path} does not exist "
                          "(give --repo)")
    commit = head_commit(repo_path)
    _check_same_code(previous, repo_path, commit)

    full = select_target(repo_path, settings.environ(), [], all_instances=True,
                         allow_exec=settings.allow_exec)
    outcomes = {o.instance: o for o in ledger.outcomes(previous.id)}
    rejected = {a.instance for a in ledger.approvals(run_id=previous.id) if a.decision == "rejected"}
    selection = select_retry(previous.selection, outcomes, full.graph,
                             include_rejected=include_rejected, rejected=rejected)
    if not selection:
        why = "; ".join(f"{name}: {reason}" for name, reason in sorted(selection.left_out.items()))
        raise ConfigError(f"retry of run {previous.id}: nothing to retry "
                          f"({len(selection.untouched)} succeeded" + (f"; {why})" if why else ")"))

    superseded = ledger.applied_since(previous, (str(ref) for ref in selection.run))
    if superseded:
        first = superseded[0]
        more = f" (and {len(superseded) - 1} more)" if len(superseded) > 1 else ""
        raise ConfigError(
            f"retry of run {previous.id} refused: superseded: {first.instance} was applied from "
            f"commit {_short(first.commit)} by later run {first.run_id}{more}; retrying commit "
            f"{_short(previous.commit)} would roll it back: deploy the current commit instead"
        )
    # the retried instances selected by name, so the run graph is built as for any deploy
    target = select_target(repo_path, settings.environ(), [_exact(ref) for ref in selection.run],
                           allow_exec=settings.allow_exec)
    return RetryTarget(previous, repo_path, commit, previous.mode, selection, target)


def _exact(ref: InstanceRef) -> str:
    """A `--stack` pattern matching only `ref`, even if its name holds glob characters."""
    def escape(name: str) -> str:
        return "".join(f"[{c}]" if c in "*?[" else c for c in name)

    return f"{escape(ref.stack)}/{escape(ref.component)}"
