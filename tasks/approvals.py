"""Find and answer the approval gates of a deploy run, from outside it (the CLI).

A gate is a `stackflow-approval` flow run, a subflow of the deploy run, waiting in state Paused.
Answering it is Prefect's resume with a run input (`decision`, `reason`, `name`), exactly what
the UI's Resume form and `POST /api/flow_runs/{id}/resume` do. Prefect's errors are translated
into stackflow's here; nothing Prefect-specific leaves this module.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stackflow.errors import ConfigError, StackflowError
from stackflow.stacks_loader.model import InstanceRef

GATE_FLOW_NAME = "stackflow-approval"  # flows.approval.approval_gate's name (kept Prefect-free here)
_ID_PREFIX = re.compile(r"[0-9a-f-]{8,36}")
_SCHEMA_TRIES = 5


@dataclass(frozen=True)
class GateRun:
    """A gate waiting for an answer."""

    id: str  # the gate's own flow run id (what the UI and the REST API resume)
    name: str
    instance: str
    run_id: str  # the deploy run it belongs to
    paused_at: datetime | None
    expires_at: datetime | None


@contextmanager
def _client() -> Iterator[Any]:
    """A Prefect client whose transport and HTTP errors become one-line stackflow errors."""
    import httpx
    from prefect import get_client
    from prefect.exceptions import PrefectException
    from prefect.settings import PREFECT_API_URL

    try:
        with get_client(sync_client=True) as client:
            yield client
    except PrefectException as exc:
        raise StackflowError(f"Prefect API: {exc}") from None
    except httpx.HTTPStatusError as exc:
        raise StackflowError(
            f"Prefect API {exc.request.method} {exc.request.url.path} answered "
            f"{exc.response.status_code}: {exc.response.text[:200]}"
        ) from None
    except httpx.TransportError as exc:
        raise StackflowError(
            f"cannot reach the Prefect API at {PREFECT_API_URL.value() or '(ephemeral)'}: {exc}"
        ) from None


def _paused_gates(client: Any, parents: list[uuid.UUID] | None) -> list[Any]:
    from prefect.client.schemas.filters import (
        FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterParentFlowRunId,
        FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    paused = FlowRunFilterStateType(any_=[StateType.PAUSED])
    run_filter = FlowRunFilter(state=FlowRunFilterState(type=paused))
    if parents is not None:
        run_filter.parent_flow_run_id = FlowRunFilterParentFlowRunId(any_=parents)
    return client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[GATE_FLOW_NAME])),
        flow_run_filter=run_filter, limit=200,
    )


def _parent_of(client: Any, gate: Any) -> str:
    if gate.parent_task_run_id is None:
        return ""
    return str(client.read_task_run(gate.parent_task_run_id).flow_run_id or "")


def _candidate_runs(client: Any, run: str) -> list[str]:
    """Ids of the flow runs RUN may mean: its id, its name, or (8+ characters) an id prefix."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.exceptions import ObjectNotFound

    text = run.strip()
    try:
        run_id = uuid.UUID(text)
    except ValueError:
        pass
    else:
        try:
            return [str(client.read_flow_run(run_id).id)]
        except ObjectNotFound:
            return []
    named = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[text])),
                                  limit=200)
    if named:
        return [str(r.id) for r in named]
    if _ID_PREFIX.fullmatch(text.lower()):
        parents = {_parent_of(client, g) for g in _paused_gates(client, None)}
        return sorted(p for p in parents if p.startswith(text.lower()))
    return []


def _gate_run(gate: Any, run_id: str) -> GateRun:
    state = gate.state
    expires = state.state_details.pause_timeout if state is not None else None
    return GateRun(
        id=str(gate.id), name=gate.name, instance=str(gate.parameters.get("instance", "")),
        run_id=run_id, paused_at=state.timestamp if state is not None else None, expires_at=expires,
    )


def _pending(client: Any, run: str) -> list[GateRun]:
    candidates = _candidate_runs(client, run)
    if not candidates:
        raise ConfigError(f"unknown run {run!r}: no Prefect flow run has this id or name")
    gates = _paused_gates(client, [uuid.UUID(c) for c in candidates])
    found = [_gate_run(g, _parent_of(client, g)) for g in gates]
    parents = sorted({g.run_id for g in found})
    if len(parents) > 1:
        raise ConfigError(f"run {run!r} is ambiguous: {len(parents)} runs with waiting gates "
                          f"({', '.join(parents)}); give the run id")
    return sorted(found, key=lambda g: (g.instance, g.id))


def pending_gates(run: str) -> list[GateRun]:
    """The gates of deploy run RUN (id, id prefix or name) waiting for an answer, by instance."""
    with _client() as client:
        return _pending(client, run)


def _answer_one(client: Any, gate: GateRun, run_input: dict[str, str]) -> str | None:
    """Resume one gate; None when it took the answer, else why not."""
    from prefect.client.schemas.responses import SetStateStatus

    for _ in range(_SCHEMA_TRIES):
        result = client.resume_flow_run(uuid.UUID(gate.id), run_input=run_input)
        # a gate that has just paused stores its form a moment later; the server refuses till then
        if "schema not found" not in (getattr(result.details, "reason", None) or ""):
            break
        time.sleep(1.0)
    if result.status == SetStateStatus.ACCEPT:
        return None
    if result.state is not None and result.state.is_failed():
        return "the gate timed out"
    reason = getattr(result.details, "reason", None) or str(result.status.value).lower()
    return "the gate is no longer waiting" if "not paused" in reason else reason


def answer_gate(
    run: str,
    instance: str | None,
    *,
    approve: bool,
    reason: str,
    name: str,
    all_gates: bool = False,
) -> list[str]:
    """Approve or reject the waiting gate of `instance` (or every gate) of deploy run RUN.

    Returns the instances answered. Raises `ConfigError` for bad input (no reason or name, an
    unknown run, no such gate waiting) and when a gate would not take the answer.
    """
    if all_gates == (instance is not None):
        raise ConfigError("give STACK/COMPONENT or --all, not both or neither")
    if not reason.strip():
        raise ConfigError("--reason: say why (it is kept with the decision)")
    if not name.strip():
        raise ConfigError("--name: say who answers")
    wanted = str(InstanceRef.parse(instance)) if instance is not None else None
    run_input = {"decision": "approve" if approve else "reject",
                 "reason": reason.strip(), "name": name.strip()}
    with _client() as client:
        gates = _pending(client, run)
        if wanted is not None:
            targets = [g for g in gates if g.instance == wanted]
            if not targets:
                waiting = ", ".join(g.instance for g in gates) or "none"
                raise ConfigError(f"run {run!r} has no gate waiting for {wanted} (waiting: {waiting})")
        else:
            targets = gates
            if not targets:
                raise ConfigError(f"run {run!r} has no gate waiting for an answer")
        answered: list[str] = []
        refused: list[str] = []
        for gate in targets:
            why = _answer_one(client, gate, run_input)
            if why is None:
                answered.append(gate.instance)
            else:
                refused.append(f"{gate.instance}: {why}")
    if refused:
        done = f"answered {', '.join(answered)}; " if answered else ""
        raise ConfigError(f"{done}could not answer {'; '.join(refused)}")
    return answered
