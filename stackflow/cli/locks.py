"""`stackflow lock|unlock|locks`: maintenance locks, and who holds which stack lock.

TARGET is a stack (every deployable instance in it), a `stack/component` instance, a glob, or,
for `unlock`, a lock name as `stackflow locks` prints it (for an instance no longer in the repo).
Locks live on the Prefect server in PREFECT_API_URL (see docs/LOCKS.md).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stackflow.errors import ConfigError, StackflowError

from .options import add_repo, emit

if TYPE_CHECKING:
    from stackflow.stacks_loader.model import StackInstance
    from stackflow.tasks.locks import LockInfo, StackLocks


def register(sub: argparse._SubParsersAction) -> None:
    lock = sub.add_parser("lock", help="lock stacks for maintenance: runs wait until unlocked")
    lock.add_argument("target", metavar="STACK[/COMPONENT]")
    lock.add_argument("--reason", required=True, help="why (shown to every run that waits)")
    lock.add_argument("--by", default=None, help="who locks (default: the current user)")
    add_repo(lock)
    lock.add_argument("--format", choices=["text", "json"], default="text")
    lock.set_defaults(handler=lock_cmd)

    unlock = sub.add_parser("unlock", help="lift a maintenance lock")
    unlock.add_argument("target", metavar="STACK[/COMPONENT]|LOCK")
    unlock.add_argument("--force", action="store_true",
                        help="also free an apply lock whose run is gone but which the server "
                        "still counts (after a server restart with in-memory lease storage)")
    unlock.add_argument("--state-lock", metavar="ID", default=None,
                        help="free terraform's own state lock ID on STACK/COMPONENT's state "
                        "(`terraform force-unlock`), holding its stack lock meanwhile")
    add_repo(unlock)
    unlock.add_argument("--format", choices=["text", "json"], default="text")
    unlock.set_defaults(handler=unlock_cmd)

    locks = sub.add_parser("locks", help="who holds which stack lock, since when, and why")
    locks.add_argument("--format", choices=["text", "json"], default="text")
    locks.set_defaults(handler=list_cmd)


def _stack_locks() -> StackLocks:
    from stackflow.settings import load_settings
    from stackflow.tasks.locks import StackLocks

    return StackLocks(load_settings())


def _instances(repo: str, target: str, command: str) -> list[StackInstance]:
    """The deployable instances TARGET names, one per state (two names for one state: one)."""
    from stackflow.settings import load_settings
    from stackflow.stacks_loader.lock_keys import lock_name, state_address
    from stackflow.stacks_loader.resolve import load_stacks
    from stackflow.stacks_loader.selection import select_instances

    if not target.strip():
        raise ConfigError(f"{command}: give a STACK or STACK/COMPONENT")
    settings = load_settings()
    stackset = load_stacks(Path(repo), settings.environ(), allow_exec=settings.allow_exec)
    try:
        refs = select_instances(stackset.instances, [target])
    except ConfigError as exc:  # its messages speak of --stack; ours of the command
        raise ConfigError(f"{command} {str(exc).removeprefix('--stack ')}") from None
    by_lock: dict[str, StackInstance] = {}
    for ref in sorted(refs):
        inst = stackset.instances[ref]
        by_lock.setdefault(lock_name(state_address(inst)), inst)
    return list(by_lock.values())


def lock_cmd(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise ConfigError(f"lock {args.target}: --reason must not be empty")
    by = args.by or _user()
    instances = _instances(args.repo, args.target, "lock")
    locks = _stack_locks()
    taken: list[tuple[StackInstance, LockInfo]] = []
    try:
        for inst in instances:
            taken.append((inst, locks.lock_for_maintenance(inst, reason=args.reason, by=by,
                                                           scope=args.target)))
    except StackflowError:
        for inst, _ in taken:  # all or nothing
            locks.unlock(inst)
        raise
    if args.format == "json":
        emit([info.to_json() for _, info in taken], "json")
        return 0
    for inst, info in taken:
        print(f"locked {inst} ({info.name}) for maintenance: {info.reason}")
        running = locks.holder_of(inst)
        if running is not None:
            print(f"  note: run {running.by} holds its apply lock since {_when(running)}; "
                  "it will finish", file=sys.stderr)
    return 0


def _record_forced(freed: LockInfo) -> None:
    """A forced release is an audit event: who took the lock away from which run."""
    import getpass
    import socket

    from stackflow.settings import load_settings
    from stackflow.tasks.ledger.recorder import open_ledger

    open_ledger(load_settings()).record_lock_event(
        freed.name, "forced", instance=freed.instance or "",
        by=f"{getpass.getuser()}@{socket.gethostname()}",
        detail=f"freed from {freed.by} ({freed.address})")


def unlock_cmd(args: argparse.Namespace) -> int:
    from stackflow.stacks_loader.lock_keys import is_lock_name

    locks = _stack_locks()
    if args.state_lock is not None:
        return _unlock_state(args, locks)
    targets: list[StackInstance | str]
    if is_lock_name(args.target):
        targets = [args.target]
    else:
        targets = list(_instances(args.repo, args.target, "unlock"))
    lifted: list[LockInfo] = []
    for target in targets:
        if isinstance(target, str) or locks.maintenance_of(target) is not None:
            try:
                lifted.append(locks.unlock(target))
            except ConfigError:
                if not args.force:
                    raise
        if args.force and (freed := locks.force_free(target)) is not None:
            lifted.append(freed)
            _record_forced(freed)
    if not lifted:
        raise ConfigError(f"unlock {args.target}: not locked"
                          + ("" if args.force else " for maintenance"))
    if args.format == "json":
        emit([info.to_json() for info in lifted], "json")
        return 0
    for info in lifted:
        what = "unlocked" if info.kind == "maintenance" else "freed the apply lock of"
        why = f": {info.reason}" if info.reason else ""
        print(f"{what} {info.instance or info.name} ({info.name}), held by {info.by} "
              f"since {_when(info)}{why}")
    return 0


def _unlock_state(args: argparse.Namespace, locks: StackLocks) -> int:
    """`terraform force-unlock` for one instance, holding its stack lock so that no stackflow
    run is in the middle of a terraform command on that state meanwhile."""
    import socket
    import uuid

    from stackflow.settings import load_settings
    from stackflow.tasks.ledger.recorder import open_ledger
    from stackflow.tasks.locks import LockHolder
    from stackflow.tasks.terraform import force_unlock_state

    lock_id = args.state_lock.strip()
    if not lock_id:
        raise ConfigError("unlock --state-lock: give the lock ID terraform printed")
    if "/" not in args.target or any(c in args.target for c in "*?["):
        raise ConfigError(f"unlock {args.target} --state-lock: name one instance as STACK/COMPONENT")
    (instance,) = _instances(args.repo, args.target, "unlock")
    by = f"{getpass.getuser()}@{socket.gethostname()}"
    settings = load_settings()
    run_id = f"unlock-{uuid.uuid4().hex[:12]}"
    # timeout 0: a run holding the stack lock may be using the state right now; say who
    with locks.held(instance, LockHolder(run_id, f"stackflow unlock by {by}", str(instance)),
                    timeout_s=0) as lease:
        force_unlock_state(instance, Path(args.repo), run_id, lock_id, settings)
        open_ledger(settings).record_lock_event(
            lease.name, "state-unlocked", instance=str(instance), by=by,
            detail=f"terraform lock {lock_id} freed by hand ({lease.address})")
    if args.format == "json":
        emit({"instance": str(instance), "state_lock": lock_id, "address": lease.address,
              "by": by}, "json")
    else:
        print(f"freed terraform state lock {lock_id} of {instance} ({lease.address})")
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    found = _stack_locks().list_locks()
    if args.format == "json":
        emit([info.to_json() for info in found], "json")
        return 0
    if not found:
        print("no locks held")
        return 0
    rows = [("INSTANCE", "KIND", "HELD BY", "SINCE (UTC)", "WHY", "LOCK")]
    for info in found:
        why = info.reason if info.kind == "maintenance" else (
            f"apply of {info.commit[:12]}" if info.commit else "plan/apply")
        rows.append((info.instance or "?", info.kind, info.by, _when(info), why, info.name))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return 0


def _when(info: LockInfo) -> str:
    return info.since.strftime("%Y-%m-%d %H:%M:%S") if info.since else "-"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 (no user name in this environment)
        return "unknown"
