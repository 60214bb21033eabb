"""One real Prefect server for the approval tests, and a handle on a gate demo flow process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.prefect_services import PrefectServer, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def gate_server(tmp_path_factory) -> Iterator[PrefectServer]:
    server = PrefectServer(tmp_path_factory.mktemp("approvals") / "prefect").start()
    yield server
    server.stop()


class GateFlow:
    """The demo flow (tests/approvals/gate_flow.py) running in its own process."""

    def __init__(self, server: PrefectServer, tmp: Path, gates: list[dict[str, Any]], **spec: Any):
        self.server = server
        self.run_name = f"gates-{uuid.uuid4().hex[:8]}"
        self.spec_path, self.out_path = tmp / f"{self.run_name}.json", tmp / f"{self.run_name}.out.json"
        self.spec_path.write_text(json.dumps({"run_name": self.run_name, "gates": gates, **spec}))
        self.log = tmp / f"{self.run_name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.approvals.gate_flow", str(self.spec_path), str(self.out_path)],
            cwd=REPO_ROOT, env=server.env(), stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.run_id = ""

    def _fail(self, message: str) -> None:
        raise AssertionError(f"{message}\n--- demo flow log ---\n{self.log.read_text()[-4000:]}")

    def wait_run(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.server.request("POST", "/flow_runs/filter",
                                       {"flow_runs": {"name": {"any_": [self.run_name]}}})
            if runs:
                self.run_id = runs[0]["id"]
                return self.run_id
            if self.proc.poll() is not None:
                self._fail("demo flow exited early")
            time.sleep(0.5)
        self._fail("demo flow run never appeared")
        return ""

    def gates(self, state: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"flows": {"name": {"any_": ["stackflow-approval"]}},
                                "flow_runs": {"parent_flow_run_id": {"any_": [self.run_id]}}}
        if state:
            body["flow_runs"]["state"] = {"type": {"any_": [state]}}
        return self.server.request("POST", "/flow_runs/filter", body)

    def _shows_form(self, gate: dict[str, Any]) -> bool:
        """Whether the paused gate has stored its form yet (it does so just after pausing)."""
        keyset = gate["state"]["state_details"].get("run_input_keyset") or {}
        try:
            self.server.request("GET", f"/flow_runs/{gate['id']}/input/{keyset['schema']}")
        except (KeyError, urllib.error.HTTPError):
            return False
        return True

    def wait_paused(self, count: int, timeout: float = 120) -> dict[str, dict[str, Any]]:
        """Block until `count` gates are Paused at once, showing their form; returns them by instance."""
        self.run_id or self.wait_run()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            paused = [g for g in self.gates("PAUSED") if self._shows_form(g)]
            if len(paused) >= count:
                return {g["parameters"]["instance"]: g for g in paused}
            if self.proc.poll() is not None:
                self._fail("demo flow exited before its gates paused")
            time.sleep(0.5)
        self._fail(f"{count} gates never paused at once")
        return {}

    def wait_task_completed(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """Block until this run's task run `name` is Completed; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.server.request("POST", "/task_runs/filter", {
                "flow_runs": {"id": {"any_": [self.run_id]}},
                "task_runs": {"name": {"any_": [name]}}})
            if runs and runs[0]["state"] and runs[0]["state"]["type"] == "COMPLETED":
                return runs[0]
            time.sleep(0.5)
        self._fail(f"task run {name!r} did not complete")
        return {}

    def result(self, timeout: float = 180) -> dict[str, Any]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            self._fail("demo flow did not finish")
        if self.proc.returncode != 0 or not self.out_path.exists():
            self._fail(f"demo flow failed (exit {self.proc.returncode})")
        out = json.loads(self.out_path.read_text())
        self.run_id = out["run_id"]
        return out

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def gate_flow(gate_server, tmp_path) -> Iterator[Any]:
    started: list[GateFlow] = []

    def start(gates: list[dict[str, Any]], **spec: Any) -> GateFlow:
        started.append(GateFlow(gate_server, tmp_path, gates, **spec))
        return started[-1]

    yield start
    for demo in started:
        demo.stop()


@pytest.fixture
def stackflow_cli(gate_server) -> Any:
    """Run `stackflow ...` as its own process against the test server."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = gate_server.env()
        env.pop("STACKFLOW_HOME", None)
        return subprocess.run([str(BIN / "stackflow"), *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    return run

