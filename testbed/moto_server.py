"""moto (the fake AWS endpoint) as a detached background process bound to 127.0.0.1.

The server outlives the process that started it (so `python -m testbed up` can return); its pid
is kept in `D/moto.pid` and its output in `D/moto.log`. It is only ever bound to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import SandboxError

HOST = "127.0.0.1"
PID_FILE = "moto.pid"
LOG_FILE = "moto.log"

# Servers started by this process, kept so they can be reaped (no zombies, no ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class MotoServer:
    """A running moto server."""

    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def start_moto(dir: Path, *, timeout_s: float = 30.0, attempts: int = 3) -> MotoServer:
    """Start moto on a free port of 127.0.0.1 (stopping the one recorded in `dir`) and wait for it.

    The port is chosen before moto binds it, so another process may take it first: then moto
    exits with "Address already in use" and a new port is tried, up to `attempts` times.
    """
    dir.mkdir(parents=True, exist_ok=True)
    stop_moto(dir)
    deadline = time.monotonic() + timeout_s
    for attempt in range(1, attempts + 1):
        port = _free_port()
        process = _spawn(dir, port)
        if _wait_until_ready(process, port, deadline, dir / LOG_FILE, last=attempt == attempts):
            (dir / PID_FILE).write_text(f"{process.pid}\n")
            return MotoServer(pid=process.pid, port=port)
    raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover


def stop_moto(dir: Path, *, timeout_s: float = 10.0) -> bool:
    """Stop the moto server recorded in `dir` (SIGTERM, then SIGKILL); True if one was running."""
    pid_file = dir / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    was_running = _is_moto(pid)
    if was_running:
        _terminate(pid, timeout_s)
    pid_file.unlink(missing_ok=True)
    return was_running


def is_healthy(pid: int, port: int) -> bool:
    """True if `pid` is a live moto server that listens on `port` and answers HTTP."""
    return _is_moto(pid) and _listens_on(pid, port) and _answers(port)


def _spawn(dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MOTO_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with open(dir / LOG_FILE, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            cwd=dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no Ctrl-C from the terminal; survives our exit
            close_fds=True,  # never inherit a held file lock
        )
    _children[process.pid] = process
    return process


def _wait_until_ready(
    process: subprocess.Popen[bytes], port: int, deadline: float, log: Path, *, last: bool
) -> bool:
    """True once moto answers; False if it lost the port race (and may retry); else raise."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if not last and "Address already in use" in _read_log(log):
                return False
            raise SandboxError(
                f"moto server exited with code {process.returncode} on {HOST}:{port}; "
                f"{log}: {_log_tail(log)}"
            )
        if _listens_on(process.pid, port) and _answers(port):
            return True
        time.sleep(0.1)
    _terminate(process.pid, 5.0)
    raise SandboxError(
        f"moto server did not answer on {HOST}:{port} in time; {log}: {_log_tail(log)}"
    )


def _terminate(pid: int, timeout_s: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s / 2
        while time.monotonic() < deadline:
            if not _is_alive(pid):
                return
            time.sleep(0.05)
    raise SandboxError(f"moto server pid {pid} is still running after SIGKILL")


def _is_moto(pid: int) -> bool:
    """Alive and really a moto server (a recorded pid may have been reused by another program)."""
    if not _is_alive(pid):
        return False
    try:
        return b"moto.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _is_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie that is not our child is as good as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _listens_on(pid: int, port: int) -> bool:
    """True if `pid` itself holds the listening TCP socket on `port` (not some other process)."""
    inodes = set()
    try:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A":  # 0A = LISTEN
                inodes.add(f"socket:[{fields[9]}]")
        if not inodes:
            return False
        fds = Path(f"/proc/{pid}/fd").iterdir()
        return any(_fd_target(fd) in inodes for fd in fds)
    except OSError:
        return False


def _fd_target(fd: Path) -> str:
    try:
        return os.readlink(fd)
    except OSError:  # closed while we looked
        return ""


def _answers(port: int) -> bool:
    # A cheap request: /moto-api/data.json dumps every resource and gets slow as state grows.
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _read_log(log: Path) -> str:
    try:
        return log.read_text(errors="replace")
    except OSError:
        return ""


def _log_tail(log: Path, lines: int = 5) -> str:
    tail = [line.strip() for line in _read_log(log).splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or "(empty)"
