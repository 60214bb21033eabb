"""A real `prefect server start` and `prefect worker start`, as separate processes, for e2e tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]
_RETRY_CODES = frozenset({429, 502, 503})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


@dataclass
class PrefectServer:
    """A Prefect server on a loopback port with its own PREFECT_HOME."""

    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    server_env: dict[str, str] = field(default_factory=dict)  # for `prefect server start` only

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(base if base is not None else os.environ)
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_API_URL=self.api_url,
        )
        return env

    def start(self, timeout: float = 180.0) -> "PrefectServer":
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.home / "server.log", "wb")
        self.proc = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env={**self.env(), **self.server_env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prefect server exited: {(self.home / 'server.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.api_url + "/health", timeout=2).read()
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"prefect server not healthy after {timeout}s")

    def stop(self) -> None:
        if self.proc:
            _stop(self.proc)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        # as Prefect's own client: the server answers 503 when its database is busy (SQLite on a
        # loaded machine), which means "try again", and 429/502 likewise
        for attempt in range(6):
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    raw = resp.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRY_CODES or attempt == 5:
                    raise
                time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def prefect(self, *args: str, cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run the `prefect` CLI against this server; raises with its output on failure."""
        proc = subprocess.run([str(BIN / "prefect"), *args], cwd=cwd, env=self.env(env),
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def deploy_project(self, project: Path, env: dict[str, str]) -> dict[str, Any]:
        """Deploy from prefect.yaml as a user would, from a checkout of stackflow in `project`:
        a process work pool `stackflow`, `prefect deploy --all`; returns the deployment."""
        project.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "prefect.yaml", project / "prefect.yaml")
        shutil.copytree(REPO_ROOT / "flows", project / "flows")
        env = dict(env, PWD=str(project))
        self.prefect("work-pool", "create", "stackflow", "--type", "process", cwd=project)
        self.prefect("deploy", "--all", cwd=project, env=env)
        return self.request("GET", "/deployments/name/stackflow-deploy/deploy")

    def start_worker(self, pool: str, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        handle = open(log, "wb")
        return subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"],
            cwd=cwd, env=self.env(env), stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_flow_run(self, flow_run_id: str, timeout: float = 600.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.request("GET", f"/flow_runs/{flow_run_id}")
            if run["state"] and run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                return run
            time.sleep(1)
        raise TimeoutError(f"flow run {flow_run_id} not finished after {timeout}s")


stop_process = _stop


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # the command name in field 2 may hold spaces: ppid is the 2nd field after its ")"
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def kill_process_tree(pid: int) -> dict[int, str]:
    """SIGKILL a process and every descendant at once, as when the machine under a worker dies.

    Everything is stopped (SIGSTOP) before anything is killed, so no process reacts to a
    sibling's death. Returns the killed processes' command lines.
    """
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    commands: dict[int, str] = {}
    for p in found:
        try:
            commands[p] = (Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ")
                           .decode(errors="replace").strip())
            os.kill(p, signal.SIGSTOP)
        except (OSError, ProcessLookupError):
            pass
    for p in found:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return commands
