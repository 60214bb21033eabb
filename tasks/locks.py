"""Stack locks on the Prefect server, so every worker sees the same ones.

One lock per Terraform state (see `stacks_loader.lock_keys`): a global concurrency limit named
`lock_name(address)`, limit 1. What goes with it lives in Prefect Variables named after it:

    <name>                  the limit; a run holds its one slot through a lease, renewed by a
                            thread while the run lives, so a killed worker's lock frees itself
    <name>_holder           who holds it: run id and name, instance, commit, since, lease id
    <name>_maintenance      a maintenance lock: reason, by, since (`stackflow lock`)
    <name>_applied          the last commit applied to this state, by which run, when

A run that finds the lock taken, or the state under maintenance, waits (queue, don't refuse),
telling `on_wait` who it waits for, and fails with a `LockError` naming them after its timeout.
A maintenance lock stops new holders; a run already holding the lock finishes.

Deadlock freedom is a rule for callers: take one lock per instance, and never wait for a lock
(or anything that waits for one) while holding another. A holder only plans, waits for its
gate and applies, then releases.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from stackflow.stacks_loader.lock_keys import LOCK_PREFIX, lock_name, state_address
from stackflow.stacks_loader.model import StackInstance

from stackflow.errors import ConfigError, LockError, StackflowError
from stackflow.settings import Settings

from .git import is_ancestor
from .state_lock import CrashedHolder, crashed_holder_from, terraform_who

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

logger = logging.getLogger("stackflow.locks")

HOLDER, MAINTENANCE, APPLIED = "_holder", "_maintenance", "_applied"
_TAGS = {HOLDER: "stackflow-lock-holder", MAINTENANCE: "stackflow-maintenance",
         APPLIED: "stackflow-applied"}


@dataclass(frozen=True)
class LockHolder:
    """The run that takes a lock, as other runs and `stackflow locks` will name it."""

    run_id: str
    run_name: str
    instance: str
    commit: str = ""


@dataclass(frozen=True)
class AppliedRecord:
    """The last commit applied to a state."""

    commit: str
    run_id: str
    at: datetime
    instance: str = ""


@dataclass(frozen=True)
class LockInfo:
    """One lock in force: a run's apply lock or a maintenance lock."""

    name: str
    address: str
    instance: str
    kind: Literal["apply", "maintenance"]
    by: str  # the holding run ("name (id)") or the person who took the maintenance lock
    since: datetime | None
    reason: str = ""
    run_id: str = ""
    commit: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "instance": self.instance,
                "kind": self.kind, "by": self.by,
                "since": self.since.isoformat() if self.since else None,
                "reason": self.reason, "run_id": self.run_id, "commit": self.commit}


@dataclass(eq=False)
class Lease:
    """A held lock; a background thread renews its lease until `StackLocks.release`."""

    name: str
    address: str
    lease_id: UUID
    instance: str
    holder: LockHolder
    since: datetime
    lease_s: float
    lost: str | None = None  # why the server no longer counts this lease, if it does not
    waited_s: float = 0.0  # how long the taker queued for it
    # the previous holder, when it never released the lock (its lease expired: it crashed)
    crashed: CrashedHolder | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def held(self) -> bool:
        return self.lost is None and not self._stop.is_set()

    def ensure_held(self) -> None:
        """Raise unless the lock is still ours: call it right before changing the state."""
        if self._stop.is_set():
            raise LockError(f"{self.instance}: lock {self.name} ({self.address}) was released")
        if self.lost is not None:
            raise LockError(f"{self.instance}: lost lock {self.name} ({self.address}): {self.lost}")


class StackLocks:
    """Take, release and inspect stack locks on the Prefect server in PREFECT_API_URL."""

    poll_s: float = 2.0  # how often a waiter asks again (the server may suggest sooner)
    report_every_s: float = 30.0  # how often `on_wait` hears that the run still waits

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- apply locks -----------------------------------------------------------------------

    def acquire(
        self,
        instance: StackInstance,
        holder: LockHolder,
        *,
        timeout_s: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Lease:
        """Take the lock of `instance`'s state, waiting up to `timeout_s` (default: setting)."""
        address = state_address(instance)
        name = lock_name(address)
        timeout = self.settings.lock_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        report = _WaitReport(on_wait, self.report_every_s)
        with self._client(f"take lock {name} for {instance}") as client:
            self._ensure_limit(client, name)
            while True:
                maintenance = self._read(client, name + MAINTENANCE)
                retry_after = self.poll_s
                if maintenance is None:
                    taken = self._try_take(client, name, holder)
                    if isinstance(taken, UUID):
                        try:
                            # re-read under the slot: a maintenance lock set meanwhile wins
                            maintenance = self._read(client, name + MAINTENANCE)
                            if maintenance is None:
                                return self._start(client, instance, name, address, taken,
                                                   holder)
                        except BaseException:
                            client.release_concurrency_slots_with_lease(taken)
                            raise
                        client.release_concurrency_slots_with_lease(taken)
                    else:
                        retry_after = min(retry_after, taken)
                if maintenance is not None:
                    why = _maintenance_text(maintenance)
                else:
                    why = _holder_text(self._read(client, name + HOLDER))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockError(
                        f"{instance}: gave up after waiting {timeout:g}s for lock {name} "
                        f"({address}), {why}"
                    )
                report(f"waiting for lock {name} ({address}) {why}")
                time.sleep(max(0.05, min(retry_after, left)))

    def release(self, lease: Lease) -> None:
        """Give the lock back. Never raises: a lock not released frees when its lease ends."""
        if lease._stop.is_set():
            return
        lease._stop.set()
        if lease._thread is not None:
            lease._thread.join(timeout=5)
        try:
            with self._client(f"release lock {lease.name}") as client:
                record = self._read(client, lease.name + HOLDER)
                if record and record.get("lease_id") == str(lease.lease_id):
                    self._delete(client, lease.name + HOLDER)
                client.release_concurrency_slots_with_lease(lease.lease_id)
        except StackflowError as exc:
            logger.warning("%s: could not release lock %s (%s): %s; it frees when its lease ends "
                           "(%gs)", lease.instance, lease.name, lease.address, exc, lease.lease_s)

    @contextmanager
    def held(
        self,
        instance: StackInstance,
        holder: LockHolder,
        *,
        timeout_s: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[Lease]:
        """`acquire` ... `release` as a with-block."""
        lease = self.acquire(instance, holder, timeout_s=timeout_s, on_wait=on_wait)
        try:
            yield lease
        finally:
            self.release(lease)

    # -- maintenance locks -----------------------------------------------------------------

    def wait_for_maintenance(
        self,
        instance: StackInstance,
        *,
        timeout_s: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """For plan-only runs: return once `instance`'s state is not under maintenance."""
        address = state_address(instance)
        name = lock_name(address)
        timeout = self.settings.lock_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        report = _WaitReport(on_wait, self.report_every_s)
        with self._client(f"read maintenance lock {name} for {instance}") as client:
            while True:
                maintenance = self._read(client, name + MAINTENANCE)
                if maintenance is None:
                    return
                why = _maintenance_text(maintenance)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockError(
                        f"{instance}: gave up after waiting {timeout:g}s for lock {name} "
                        f"({address}), {why}"
                    )
                report(f"waiting for lock {name} ({address}) {why}")
                time.sleep(max(0.05, min(self.poll_s, left)))

    def lock_for_maintenance(
        self, instance: StackInstance, *, reason: str, by: str, scope: str = ""
    ) -> LockInfo:
        """Stop new runs from taking `instance`'s lock until `unlock`; returns the lock, and
        the run holding the apply lock right now, if any, is left to finish (see `holder_of`)."""
        if not reason.strip():
            raise ConfigError(f"{instance}: a maintenance lock needs a reason (--reason)")
        address = state_address(instance)
        name = lock_name(address)
        since = _now()
        record = {"reason": reason.strip(), "by": by, "since": since.isoformat(),
                  "instance": str(instance), "address": address, "scope": scope or str(instance)}
        with self._client(f"set maintenance lock {name} for {instance}") as client:
            if not self._create(client, name + MAINTENANCE, record, _TAGS[MAINTENANCE]):
                existing = self._read(client, name + MAINTENANCE) or {}
                raise LockError(f"{instance}: lock {name} ({address}) is already "
                                f"{_maintenance_text(existing)}")
        return _maintenance_info(name, record)

    def unlock(self, target: StackInstance | str) -> LockInfo:
        """Lift the maintenance lock of an instance, or of a lock by name (`stackflow locks`)."""
        if isinstance(target, str):
            name, label = target, f"lock {target}"
        else:
            name = lock_name(state_address(target))
            label = f"{target} (lock {name})"
        with self._client(f"lift maintenance lock {name}") as client:
            record = self._read(client, name + MAINTENANCE)
            if record is None:
                raise ConfigError(f"{label}: not locked for maintenance")
            self._delete(client, name + MAINTENANCE)
        return _maintenance_info(name, record)

    def force_free(self, target: StackInstance | str) -> LockInfo | None:
        """Free an apply lock whose holder is gone for good; returns who held it, if anyone.

        Only for a slot the server no longer frees by itself: a server restarted with in-memory
        lease storage forgets its leases but not the slots they held. A live holder keeps
        running unlocked, so check `stackflow locks` (and the run) first.
        """
        from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

        name = target if isinstance(target, str) else lock_name(state_address(target))
        with self._client(f"free lock {name}") as client:
            limit = self._read_limit(client, name)
            if limit is None or limit.active_slots < 1:
                return None
            record = self._read(client, name + HOLDER)
            info = _holder_info(name, "", record)
            if record and record.get("lease_id"):
                # a lease the server still has: revoke it, or its expiry would later free
                # the slot of whoever holds the lock next
                client.release_concurrency_slots_with_lease(UUID(record["lease_id"]))
            limit = self._read_limit(client, name)
            if limit is not None and limit.active_slots > 0:  # a slot no lease will free
                client.update_global_concurrency_limit(
                    name, GlobalConcurrencyLimitUpdate(active_slots=0)
                )
            self._delete(client, name + HOLDER)
        logger.warning("freed lock %s by force (held by %s)", name, info.by)
        return info

    def maintenance_of(self, instance: StackInstance) -> LockInfo | None:
        name = lock_name(state_address(instance))
        with self._client(f"read maintenance lock {name}") as client:
            record = self._read(client, name + MAINTENANCE)
        return _maintenance_info(name, record) if record else None

    def holder_of(self, instance: StackInstance) -> LockInfo | None:
        """The run holding `instance`'s apply lock now, if any."""
        address = state_address(instance)
        name = lock_name(address)
        with self._client(f"read lock {name}") as client:
            limit = self._read_limit(client, name)
            if limit is None or limit.active_slots < 1:
                return None
            return _holder_info(name, address, self._read(client, name + HOLDER))

    def list_locks(self) -> list[LockInfo]:
        """Every apply lock held and every maintenance lock, by instance."""
        found: list[LockInfo] = []
        with self._client("list locks") as client:
            holders = {v.name.removesuffix(HOLDER): v.value
                       for v in self._tagged(client, _TAGS[HOLDER])}
            offset = 0
            while True:
                page = client.read_global_concurrency_limits(limit=200, offset=offset)
                for limit in page:
                    if limit.name.startswith(LOCK_PREFIX) and limit.active_slots > 0:
                        found.append(_holder_info(limit.name, "", holders.get(limit.name)))
                if len(page) < 200:
                    break
                offset += 200
            for variable in self._tagged(client, _TAGS[MAINTENANCE]):
                if isinstance(variable.value, dict):
                    found.append(
                        _maintenance_info(variable.name.removesuffix(MAINTENANCE), variable.value)
                    )
        return sorted(found, key=lambda i: (i.instance, i.name, i.kind))

    # -- newer commit wins -----------------------------------------------------------------

    def record_applied(self, instance: StackInstance, commit: str, run_id: str) -> None:
        """Remember `commit` as applied to `instance`'s state (call it holding the lock)."""
        address = state_address(instance)
        name = lock_name(address)
        record = {"commit": commit, "run_id": run_id, "at": _now().isoformat(),
                  "instance": str(instance), "address": address}
        with self._client(f"record the commit applied to {instance}") as client:
            self._put(client, name + APPLIED, record, _TAGS[APPLIED])

    def last_applied(self, instance: StackInstance) -> AppliedRecord | None:
        name = lock_name(state_address(instance))
        with self._client(f"read the commit applied to {instance}") as client:
            record = self._read(client, name + APPLIED)
        if not record or not record.get("commit"):
            return None
        return AppliedRecord(commit=record["commit"], run_id=record.get("run_id", ""),
                             at=_parse_time(record.get("at")) or _now(),
                             instance=record.get("instance", ""))

    # -- Prefect plumbing ------------------------------------------------------------------

    @contextmanager
    def _client(self, what: str) -> Iterator[SyncPrefectClient]:
        """A Prefect client; every failure to talk to the server becomes one `LockError`."""
        import httpx
        from prefect.client.orchestration import get_client
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url
        if not url:
            raise ConfigError("PREFECT_API_URL is not set: stack locks live on a Prefect "
                              "server; point PREFECT_API_URL at it")
        try:
            with get_client(sync_client=True) as client:
                yield client
        except httpx.HTTPStatusError as exc:
            raise LockError(f"cannot {what}: {_http_text(exc, url)}") from None
        except httpx.HTTPError as exc:
            raise LockError(f"cannot {what}: Prefect API at {url} unreachable "
                            f"({type(exc).__name__}: {exc})") from None

    def _ensure_limit(self, client: SyncPrefectClient, name: str) -> None:
        """The limit exists, is active and allows one holder (created if missing, race-safe)."""
        from prefect.client.schemas.actions import (
            GlobalConcurrencyLimitCreate,
            GlobalConcurrencyLimitUpdate,
        )
        from prefect.exceptions import ObjectAlreadyExists

        limit = self._read_limit(client, name)
        if limit is None:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1, active=True)
                )
            except ObjectAlreadyExists:
                pass
        elif limit.limit != 1 or not limit.active:
            # an inactive limit grants every request: that is no lock at all
            logger.warning("lock %s had limit %s, active %s; resetting to limit 1, active",
                           name, limit.limit, limit.active)
            client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=1, active=True)
            )

    def _read_limit(self, client: SyncPrefectClient, name: str) -> Any:
        from prefect.exceptions import ObjectNotFound

        try:
            return client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None

    def _try_take(self, client: SyncPrefectClient, name: str, holder: LockHolder) -> UUID | float:
        """The lease id, or how long to wait before asking again (the slot is taken)."""
        import httpx

        try:
            response = client.increment_concurrency_slots_with_lease(
                names=[name], slots=1, mode="concurrency",
                lease_duration=self.settings.lock_lease_s, holder=_prefect_holder(holder),
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 423:
                return float(exc.response.headers.get("Retry-After", self.poll_s))
            raise
        body = response.json()
        if not body.get("limits"):
            # strict: the limit vanished since `_ensure_limit`; nothing is held, so make it again
            self._ensure_limit(client, name)
            return 0.0
        return UUID(body["lease_id"])

    def _start(self, client: SyncPrefectClient, instance: StackInstance, name: str,
               address: str, lease_id: UUID, holder: LockHolder) -> Lease:
        since = _now()
        # A holder releasing its lock deletes this record first, so one still here belongs to a
        # holder whose lease expired: it crashed (or lost the server for a whole lease).
        previous = self._read(client, name + HOLDER)
        crashed = None
        if previous and previous.get("lease_id") != str(lease_id):
            crashed = crashed_holder_from(previous)
            if crashed is not None:
                logger.warning("%s: lock %s (%s) was never released by %s (held since %s): its "
                               "lease expired", instance, name, address, crashed.describe(),
                               _when(crashed.since))
                _mark_crashed(client, crashed, name, self.settings.lock_lease_s)
        record = {"run_id": holder.run_id, "run_name": holder.run_name,
                  "instance": holder.instance or str(instance), "commit": holder.commit,
                  "since": since.isoformat(), "lease_id": str(lease_id), "address": address,
                  # what a later taker needs to recognise a terraform lock this run leaves
                  "who": terraform_who(), "host": socket.gethostname(), "pid": os.getpid()}
        self._put(client, name + HOLDER, record, _TAGS[HOLDER])
        lease = Lease(name=name, address=address, lease_id=lease_id, instance=str(instance),
                      holder=holder, since=since, lease_s=self.settings.lock_lease_s,
                      crashed=crashed)
        context = contextvars.copy_context()  # the same Prefect settings (API URL, auth)
        lease._thread = threading.Thread(target=context.run, args=(_renew, lease), daemon=True,
                                         name=f"stackflow-lock-renewal-{name}")
        lease._thread.start()
        return lease

    def _read(self, client: SyncPrefectClient, variable: str) -> dict[str, Any] | None:
        found = client.read_variable_by_name(variable)
        return found.value if found is not None and isinstance(found.value, dict) else None

    def _create(self, client: SyncPrefectClient, variable: str, value: dict[str, Any],
                tag: str) -> bool:
        """Create the variable; False if it already exists (creation is the atomic step)."""
        from prefect.client.schemas.actions import VariableCreate
        from prefect.exceptions import ObjectAlreadyExists

        try:
            client.create_variable(VariableCreate(name=variable, value=value,
                                                  tags=["stackflow", tag]))
        except ObjectAlreadyExists:
            return False
        return True

    def _put(self, client: SyncPrefectClient, variable: str, value: dict[str, Any],
             tag: str) -> None:
        import httpx
        from prefect.client.schemas.actions import VariableUpdate

        for _ in range(3):
            if self._create(client, variable, value, tag):
                return
            try:
                client.update_variable(VariableUpdate(name=variable, value=value))
                return
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 404:  # deleted meanwhile: create it again
                    raise
        raise LockError(f"cannot write Prefect variable {variable}: it keeps changing")

    def _delete(self, client: SyncPrefectClient, variable: str) -> None:
        from prefect.exceptions import ObjectNotFound

        try:
            client.delete_variable_by_name(variable)
        except ObjectNotFound:
            pass

    def _tagged(self, client: SyncPrefectClient, tag: str) -> list[Any]:
        from prefect.client.schemas.objects import Variable

        found: list[Any] = []
        while True:
            response = client.request("POST", "/variables/filter", json={
                "variables": {"tags": {"all_": [tag]}}, "limit": 200, "offset": len(found)})
            page = Variable.model_validate_list(response.json())
            found.extend(page)
            if len(page) < 200:
                return found


def check_not_superseded(repo: Path, instance_label: str, commit: str,
                         last: AppliedRecord | None) -> None:
    """Refuse to apply `commit` when a descendant of it was applied already (newer commit wins).

    Call it holding the instance's lock. Unrelated commits (another branch) pass; a last commit
    git cannot compare (not fetched yet) fails closed, since a slow older run is exactly the
    run whose clone does not have the newer commit.
    """
    if last is None or not last.commit or not commit or last.commit == commit:
        return
    newer = is_ancestor(repo, commit, last.commit)
    applied = f"applied by run {last.run_id or '?'} at {_when(last.at)}"
    if newer is None:
        raise LockError(
            f"{instance_label}: cannot tell whether commit {commit[:12]} is older than "
            f"{last.commit[:12]} ({applied}): git in {repo} cannot compare them; fetch "
            f"{last.commit[:12]} and retry"
        )
    if newer:
        raise LockError(
            f"{instance_label}: commit {commit[:12]} is superseded by {last.commit[:12]} "
            f"({applied}); refusing to apply an older commit"
        )


# -- helpers ---------------------------------------------------------------------------------


class _WaitReport:
    """Calls `on_wait` at once, then every `every` seconds or when the message changes."""

    def __init__(self, on_wait: Callable[[str], None] | None, every: float) -> None:
        self.on_wait, self.every = on_wait, every
        self.last_at: float | None = None
        self.last_message = ""

    def __call__(self, message: str) -> None:
        if self.on_wait is None:
            return
        now = time.monotonic()
        if (self.last_at is None or now - self.last_at >= self.every
                or message != self.last_message):
            self.last_at, self.last_message = now, message
            self.on_wait(message)


def _renew(lease: Lease) -> None:
    """Renew `lease` every third of its length until released; on failure retry every few
    seconds, and give up (marking it lost) when the server drops it or it must have ended."""
    import httpx
    from prefect.client.orchestration import get_client

    interval = lease.lease_s / 3
    last_ok = time.monotonic()
    wait = interval
    client = None
    try:
        while not lease._stop.wait(wait):
            try:
                if client is None:  # its own client (httpx_settings given), not the run's
                    client = get_client(httpx_settings={"timeout": 30.0},
                                        sync_client=True).__enter__()
                client.renew_concurrency_lease(lease.lease_id, lease.lease_s)
                last_ok, wait = time.monotonic(), interval
            except httpx.HTTPStatusError as exc:
                if lease._stop.is_set():
                    return  # released meanwhile
                if exc.response.status_code in (404, 410):
                    lease.lost = "the server no longer has its lease (expired or revoked)"
                    logger.error("%s: lost lock %s: %s", lease.instance, lease.name, lease.lost)
                    return
                wait = _renewal_failed(lease, exc, last_ok)
            except Exception as exc:  # noqa: BLE001 (network trouble: keep trying)
                wait = _renewal_failed(lease, exc, last_ok)
            if lease.lost:
                return
    finally:
        if client is not None:
            client.__exit__(None, None, None)


def _renewal_failed(lease: Lease, exc: Exception, last_ok: float) -> float:
    if time.monotonic() - last_ok >= lease.lease_s:
        lease.lost = f"could not renew its lease for {lease.lease_s:g}s ({exc})"
        logger.error("%s: lost lock %s: %s", lease.instance, lease.name, lease.lost)
    else:
        logger.warning("%s: renewing lock %s failed, retrying: %s", lease.instance, lease.name,
                       exc)
    return 5.0


def _mark_crashed(client: SyncPrefectClient, crashed: CrashedHolder, name: str,
                  lease_s: float) -> None:
    """Mark the Prefect flow run of a holder whose lease expired as crashed, unless it ended:
    a killed worker reports nothing, and its run would otherwise show as running for ever."""
    from prefect.states import Crashed

    try:
        run_id = UUID(crashed.run_id)
    except ValueError:
        return
    try:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return
        client.set_flow_run_state(run_id, Crashed(message=(
            f"stackflow: stopped renewing its lease on lock {name} (no renewal for "
            f"{lease_s:g}s); the lock passed to another run")), force=True)
    except Exception as exc:  # noqa: BLE001 (a label in the UI; the lock is already safe)
        logger.warning("could not mark %s crashed: %s", crashed.describe(), exc)


def _prefect_holder(holder: LockHolder) -> Any:
    """Prefect's own holder field takes a flow run id (a UUID) only; the rest is a variable."""
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

    try:
        return ConcurrencyLeaseHolder(type="flow_run", id=UUID(holder.run_id))
    except ValueError:
        return None


def _holder_text(record: dict[str, Any] | None) -> str:
    if not record:
        return "held by a run that has not said who it is yet"
    return (f"held by run {record.get('run_name') or '?'} ({record.get('run_id') or '?'}) "
            f"since {_when(_parse_time(record.get('since')))}")


def _maintenance_text(record: dict[str, Any]) -> str:
    return (f"locked for maintenance by {record.get('by') or '?'} since "
            f"{_when(_parse_time(record.get('since')))}: {record.get('reason') or '?'}")


def _holder_info(name: str, address: str, record: dict[str, Any] | None) -> LockInfo:
    record = record or {}
    run = (f"{record.get('run_name') or '?'} ({record.get('run_id') or '?'})"
           if record else "unknown run")
    return LockInfo(name=name, address=record.get("address") or address,
                    instance=record.get("instance", ""), kind="apply", by=run,
                    since=_parse_time(record.get("since")), run_id=record.get("run_id", ""),
                    commit=record.get("commit", ""))


def _maintenance_info(name: str, record: dict[str, Any]) -> LockInfo:
    return LockInfo(name=name, address=record.get("address", ""),
                    instance=record.get("instance", ""), kind="maintenance",
                    by=record.get("by", ""), since=_parse_time(record.get("since")),
                    reason=record.get("reason", ""))


def _http_text(exc: Any, url: str) -> str:
    code = exc.response.status_code
    if code == 401:
        return (f"the Prefect API at {url} answered 401 Unauthorized; set PREFECT_API_AUTH_STRING "
                "to the server's PREFECT_SERVER_API_AUTH_STRING")
    try:
        detail = exc.response.json().get("detail") or exc.response.text
    except Exception:  # noqa: BLE001
        detail = exc.response.text
    return f"the Prefect API at {url} answered {code}: {' '.join(str(detail).split())[:200]}"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _when(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "?"
