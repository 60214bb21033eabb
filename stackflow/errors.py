"""One exception family for stackflow.

Every message names what the user must look at (file, stack, component, field) and fits on one
line; the CLI prints it as is and exits non-zero. Lower-level errors (yaml, subprocess, botocore)
are translated into one of these at the edge where they happen, never leaked.

    StackflowError
    ├── ConfigError        bad input: a manifest, atmos.yaml, a CLI argument, an affected JSON
    │   └── CycleError     the dependency graph has a cycle (message shows the whole cycle)
    ├── GitError           a ref that does not exist, a path that is not a repository
    ├── TerraformError     a terraform command failed (instance, command, last error lines)
    ├── PlanIntegrityError a stored plan does not match what is about to be applied
    └── LockError          a lock could not be taken or named
"""

from __future__ import annotations


class StackflowError(Exception):
    """Base of every error stackflow raises on purpose."""

    exit_code: int = 1


class ConfigError(StackflowError):
    """The user's input is wrong; nothing was run."""

    exit_code = 2


class CycleError(ConfigError):
    """Instances depend on each other in a loop."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " → ".join([*cycle, cycle[0]]))


class GitError(ConfigError):
    """A git ref or repository could not be read."""


class TerraformError(StackflowError):
    """A terraform command failed for one instance."""

    def __init__(self, instance: str, command: str, exit_code: int, detail: str) -> None:
        self.instance = instance
        self.command = command
        self.returncode = exit_code
        self.detail = detail
        self.transient = False  # set by the runner when stderr matches a retryable pattern
        self.attempts = 1
        lines = " | ".join(line.strip() for line in detail.strip().splitlines() if line.strip())
        super().__init__(f"{instance}: terraform {command} failed (exit {exit_code}): {lines}")


class PlanIntegrityError(StackflowError):
    """A stored plan no longer matches its checksum, commit or resolved config."""


class LockError(StackflowError):
    """A stack lock could not be taken, or a lock name is invalid."""
