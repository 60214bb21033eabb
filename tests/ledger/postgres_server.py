"""A throwaway PostgreSQL server on a loopback port, for running the ledger suite on it.

Uses Debian's `postgresql` binaries (installed with apt-get when missing). They refuse to run as
root, so as root they run as the `postgres` user, with a data folder that user owns.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

INSTALL_LOCK = Path(tempfile.gettempdir()) / "stackflow-apt-postgresql.lock"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _find_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def postgres_bin_dir() -> Path:
    """Where initdb/pg_ctl live; installs Debian's postgresql package if they are missing."""
    found = _find_bin_dir()
    if found:
        return found
    with open(INSTALL_LOCK, "w") as lock:  # pytest-xdist workers install one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _find_bin_dir()
        if found:
            return found
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    found = _find_bin_dir()
    if not found:
        raise RuntimeError("apt-get install postgresql left no initdb behind")
    return found


@dataclass
class PostgresServer:
    root: Path
    bin_dir: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @staticmethod
    def _as_owner(argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, *argv: str) -> None:
        proc = subprocess.run(self._as_owner(list(argv)), capture_output=True, text=True,
                              cwd=self.root, timeout=120)
        if proc.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}\n{tail}")

    @classmethod
    def start(cls) -> "PostgresServer":
        root = Path(tempfile.mkdtemp(prefix="stackflow-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)
        server = cls(root, postgres_bin_dir(), _free_port())
        server._run(str(server.bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (f"-p {server.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={root} -c fsync=off -c max_connections=300")
        server._run(str(server.bin_dir / "pg_ctl"), "-D", str(server.data), "-l",
                    str(root / "server.log"), "-o", options, "-w", "-t", "60", "start")
        return server

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"ledger_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
