"""All of stackflow's configuration, read in one place.

Precedence (highest first): explicit keyword arguments (the CLI passes its flags this way),
`STACKFLOW_*` environment variables, then the defaults below. Nothing else in stackflow reads
`os.environ`; code that needs the environment (e.g. the loader's `!env`) is handed
`Settings.environ()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".stackflow"


DEFAULT_TRANSIENT_PATTERNS: tuple[str, ...] = (
    r"RequestLimitExceeded",
    r"Throttling",
    r"ThrottlingException",
    r"TooManyRequestsException",
    r"SlowDown",
    r"connection reset by peer",
    r"ECONNRESET",
    r"i/o timeout",
    r"TLS handshake timeout",
    r"status code: 5\d\d",
    r"StatusCode: 5\d\d",
    r"50[234] (Bad Gateway|Service Unavailable|Gateway Timeout)",
    r"Error acquiring the state lock",
    r"failed to lock \S+ state",
)


class Settings(BaseSettings):
    """stackflow settings; every field can be set as `STACKFLOW_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="STACKFLOW_", extra="ignore")

    terraform_bin: str = Field(
        "terraform", description="terraform or tofu executable, a name on PATH or a path"
    )
    home: Path = Field(default_factory=_default_home, description="stackflow's own state folder")
    work_dir: Path | None = Field(
        None, description="per-run terraform work folders (default: <home>/work)"
    )
    plan_store: str | None = Field(
        None, description="folder or s3://bucket/prefix for plan files (default: <home>/plans)"
    )
    database_url: str | None = Field(
        None, description="ledger database URL (default: sqlite file under <home>)"
    )
    ledger_heartbeat_s: float = Field(
        10.0, gt=0, description="how often a running deploy tells the ledger it is alive; a run "
        "silent for 3 intervals counts as crashed"
    )
    parallelism: int = Field(4, ge=1, description="instances planned/applied at once")
    retries: int = Field(2, ge=0, description="retries of a transient terraform failure")
    retry_delay_s: float = Field(5.0, ge=0, description="first retry delay; doubles each time")
    transient_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TRANSIENT_PATTERNS),
        description="regexes over terraform's stderr that mark a failure as transient",
    )
    allow_exec: bool = Field(False, description="allow the `!exec` YAML function")
    locks: bool = Field(True, description="take a state lock per instance on the Prefect server")
    command_timeout_s: float = Field(3600.0, gt=0, description="one terraform command's limit")
    lock_timeout_s: float = Field(
        3600.0, ge=0, description="how long a run waits for a held stack lock (or a maintenance "
        "lock) before it fails naming the holder"
    )
    lock_lease_s: float = Field(
        120.0, ge=60, le=86400, description="lease of a held stack lock, renewed while its run "
        "lives; a killed worker's lock frees at most this long (plus the server's reaper) later"
    )
    approval_timeout_s: float = Field(
        86400.0, gt=0, description="how long an approval gate waits for an answer; then it rejects"
    )
    approval_poll_s: float = Field(
        5.0, gt=0, description="how often a waiting approval gate checks for an answer"
    )

    def resolved_work_dir(self) -> Path:
        return self.work_dir or self.home / "work"

    def resolved_plan_store(self) -> str:
        return self.plan_store or str(self.home / "plans")

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ledger.db'}"

    @staticmethod
    def environ() -> Mapping[str, str]:
        """The process environment, for the few places that must pass it on (terraform, `!env`)."""
        return dict(os.environ)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
