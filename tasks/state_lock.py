"""Terraform's own state lock (e.g. the S3 backend's DynamoDB item), as a run holding the
instance's stack lock sees it.

stackflow's stack lock keeps stackflow runs apart; terraform's state lock is taken by each
terraform command on top of it. When a worker dies mid-apply, its terraform dies too and leaves
its state lock behind: the next run gets the stack lock (the dead run's lease expired) but
every terraform command then fails with "Error acquiring the state lock".

That lock may be freed (`terraform force-unlock`) only when it provably belongs to the dead run:
  - the run that took the stack lock found the previous holder's record still there, so that
    holder never released the lock: its lease expired (`CrashedHolder`);
  - terraform's lock was taken by the same user@host as that holder, after it took the stack lock;
  - when that holder ran on this host, neither its process nor anything in its work folder
    (a terraform orphaned by a kill of the flow process alone) still runs.
Anything else (a person running terraform by hand, another tool) is never touched: the error names
the lock and says how to free it.

The other half of the bargain is fencing: a run whose lease is lost while terraform runs
stops terraform (SIGTERM: it finishes the operations in flight, saves state and unlocks), so a
live holder cut off from Prefect does not keep changing a state that someone else now holds.
"""

from __future__ import annotations

import contextvars
import os
import pwd
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class StateLockInfo:
    """The `Lock Info:` block terraform prints when it cannot take a state lock."""

    id: str
    path: str = ""
    operation: str = ""
    who: str = ""
    version: str = ""
    created: datetime | None = None

    def describe(self) -> str:
        when = self.created.strftime("%Y-%m-%d %H:%M:%S UTC") if self.created else "?"
        return (f"ID {self.id}, {self.operation or '?'} by {self.who or '?'} since {when}"
                + (f", path {self.path}" if self.path else ""))


_FIELD = re.compile(r"^\s*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*?)\s*$")
# Go's time.Time String(): "2026-11-24 10:00:00.123456789 +0000 UTC" (fraction optional)
_GO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})")


def parse_state_lock(stderr: str) -> StateLockInfo | None:
    """The lock terraform could not take, from its stderr; None if it failed for another reason."""
    lines = [line.strip("│╷╵ \t") for line in stderr.splitlines()]
    try:
        start = lines.index("Lock Info:")
    except ValueError:
        return None
    fields: dict[str, str] = {}
    for line in lines[start + 1:]:
        match = _FIELD.match(line)
        if not match:
            break
        fields[match.group(1)] = match.group(2)
    if not fields.get("ID"):
        return None
    return StateLockInfo(id=fields["ID"], path=fields.get("Path", ""),
                         operation=fields.get("Operation", ""), who=fields.get("Who", ""),
                         version=fields.get("Version", ""),
                         created=parse_go_time(fields.get("Created", "")))


def parse_go_time(text: str) -> datetime | None:
    match = _GO_TIME.match(text.strip())
    if not match:
        return None
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    try:
        return datetime.strptime(f"{match.group(1)}.{fraction} {match.group(3)}",
                                 "%Y-%m-%d %H:%M:%S.%f %z").astimezone(timezone.utc)
    except ValueError:
        return None


def terraform_who() -> str:
    """`user@host` as terraform writes it into the locks it takes from this process."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = ""
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class CrashedHolder:
    """The previous holder of a stack lock, which never released it: its lease expired."""

    run_id: str
    run_name: str
    since: datetime  # when it took the stack lock (its own clock, like terraform's Created)
    who: str = ""  # terraform's user@host for its process
    host: str = ""
    pid: int = 0

    def describe(self) -> str:
        return f"run {self.run_name or '?'} ({self.run_id or '?'})"


def run_still_running(crashed: CrashedHolder, work_dir: Path) -> str | None:
    """On the crashed holder's own host: what of it still runs (its process, or a terraform
    left running in its work folder when only its process was killed), else None.
    Elsewhere nothing can be checked, and the expired lease is the evidence."""
    if not crashed.host or crashed.host != socket.gethostname():
        return None
    if crashed.pid and _pid_alive(crashed.pid):
        return f"its process still runs on this host (pid {crashed.pid})"
    run_folder = str(work_dir / "runs" / crashed.run_id) + os.sep
    proc = Path("/proc")
    if crashed.run_id and proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:  # gone meanwhile, or not ours to read
                continue
            if (cwd + os.sep).startswith(run_folder):
                return f"a process of it still runs in {run_folder} (pid {entry.name})"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def why_not_free(lock: StateLockInfo, crashed: CrashedHolder | None, *,
                 still_running: Callable[[CrashedHolder], str | None]) -> str | None:
    """None when `lock` provably belongs to `crashed` (free it); else why it must stay."""
    if crashed is None:
        return "no stackflow run holding this state is known to have crashed"
    if not crashed.who or lock.who != crashed.who:
        return (f"it was taken by {lock.who or '?'}, not by {crashed.describe()} "
                f"({crashed.who or 'unknown user@host'}), whose lease expired")
    # both times come from the crashed holder's host clock; `since` is whole seconds
    if lock.created is None or lock.created < crashed.since - timedelta(seconds=1):
        return (f"it was taken before {crashed.describe()} took the stack lock "
                f"({crashed.since.isoformat()})")
    running = still_running(crashed)
    if running is not None:
        return f"{crashed.describe()} has not stopped: {running}"
    return None


class LeaseLike(Protocol):
    lost: str | None
    name: str


@dataclass
class StateCustody:
    """What a run holding one instance's stack lock may do about that state's terraform lock."""

    instance: str
    lease: LeaseLike
    crashed: CrashedHolder | None = None
    # told when a lock left by `crashed` was freed (the flow writes it to the ledger)
    on_freed: Callable[[StateLockInfo, CrashedHolder], None] | None = None

    def lost(self) -> str | None:
        """Why the stack lock is no longer ours (terraform must stop), or None."""
        return self.lease.lost


_custody: contextvars.ContextVar[StateCustody | None] = contextvars.ContextVar(
    "stackflow_state_custody", default=None)


@contextmanager
def acting_on_state(custody: StateCustody | None) -> Iterator[None]:
    """Terraform commands run inside this block act on a state held under `custody`."""
    token = _custody.set(custody)
    try:
        yield
    finally:
        _custody.reset(token)


def current_custody() -> StateCustody | None:
    return _custody.get()


def crashed_holder_from(record: dict[str, Any]) -> CrashedHolder | None:
    """A `<lock>_holder` record left behind, as a `CrashedHolder` (None if it is unreadable)."""
    try:
        since = datetime.fromisoformat(str(record["since"]))
    except (KeyError, ValueError):
        return None
    try:
        pid = int(record.get("pid") or 0)
    except (TypeError, ValueError):
        pid = 0
    return CrashedHolder(run_id=str(record.get("run_id") or ""),
                         run_name=str(record.get("run_name") or ""), since=since,
                         who=str(record.get("who") or ""), host=str(record.get("host") or ""),
                         pid=pid)
