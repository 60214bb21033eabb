"""`python -m testbed up|down|status [--dir .sandbox]`: the test bed from a shell.

`up` reuses a healthy sandbox, so it is safe to run before every demo or test session. Errors are
printed on one line and exit 1; `status` also exits 1 when nothing is running.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from testbed.errors import SandboxError
from testbed.sandbox import DEFAULT_LOCK_TABLE, DEFAULT_STATE_BUCKET, Sandbox, down, load, up


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "up":
            return _up(args.dir, args.state_bucket, args.lock_table)
        if args.command == "down":
            stopped = down(args.dir)
            print(f"sandbox in {args.dir} {'stopped' if stopped else 'was not running'}")
            return 0
        sandbox = load(args.dir)
        _describe(sandbox, "up")
        if args.state_keys:
            keys = sandbox.state_keys()
            print(f"state objects in s3://{sandbox.state_bucket} ({len(keys)}):")
            for key in keys:
                print(f"  {key}")
        return 0
    except SandboxError as exc:
        print(f"testbed: error: {exc}", file=sys.stderr)
        return 1


def _up(dir: Path, state_bucket: str, lock_table: str) -> int:
    try:
        before: Sandbox | None = load(dir)
    except SandboxError:
        before = None
    started = time.monotonic()
    sandbox = up(dir, state_bucket, lock_table)
    reused = before is not None and before.moto_pid == sandbox.moto_pid
    _describe(sandbox, f"{'reused' if reused else 'started'} in {time.monotonic() - started:.1f}s")
    print(f"use it:    source {sandbox.env_file}")
    return 0


def _describe(sandbox: Sandbox, state: str) -> None:
    print(f"sandbox:   {sandbox.dir} ({state})")
    print(f"moto:      {sandbox.endpoint_url} (pid {sandbox.moto_pid})")
    print(f"state:     s3://{sandbox.state_bucket}, lock table {sandbox.lock_table}")
    print(f"terraform: {sandbox.terraform} (TF_CLI_CONFIG_FILE={sandbox.cli_config})")
    print(f"env file:  {sandbox.env_file}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m testbed", description="Offline terraform + moto test bed."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help in (
        ("up", "start (or reuse) the sandbox and write its env file"),
        ("down", "stop the sandbox's moto server"),
        ("status", "show the running sandbox; exit 1 if none"),
    ):
        command = commands.add_parser(name, help=help)
        command.add_argument("--dir", type=Path, default=Path(".sandbox"), help="sandbox folder")
        if name == "up":
            command.add_argument("--state-bucket", default=DEFAULT_STATE_BUCKET)
            command.add_argument("--lock-table", default=DEFAULT_LOCK_TABLE)
        if name == "status":
            command.add_argument("--state-keys", action="store_true",
                                 help="also list the terraform state objects in the bucket")
    return parser


if __name__ == "__main__":
    sys.exit(main())
