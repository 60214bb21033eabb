"""The ledger suite runs twice: on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stackflow.tasks.ledger.store import Ledger, dispose_engines

from .postgres_server import PostgresServer
from .scripted_steps import SCRIPT_ENV, write_script


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        dispose_engines()
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger-db' / 'ledger.db'}"
    else:
        yield request.getfixturevalue("postgres_server").create_database()
    dispose_engines()


@pytest.fixture
def ledger(ledger_url: str, tmp_path: Path) -> Ledger:
    return Ledger.open(ledger_url, tmp_path)


@pytest.fixture
def ledger_env(ledger_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """This process's settings point at the test's ledger and a private stackflow home."""
    env = {
        "STACKFLOW_DATABASE_URL": ledger_url,
        "STACKFLOW_HOME": str(tmp_path / "stackflow-home"),
        "STACKFLOW_RETRY_DELAY_S": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Set the scripted steps' behaviour: `script(fail=["dev/b"], ...)`; returns the log path."""
    log = tmp_path / "steps.log"

    def set_script(**kw: object) -> Path:
        monkeypatch.setenv(SCRIPT_ENV, write_script(log=str(log), **kw))
        return log

    return set_script


@pytest.fixture
def scripted_deploy(monkeypatch: pytest.MonkeyPatch):
    """The real deploy flow, with `ScriptedSteps` in place of terraform."""
    import stackflow.flows.deploy as deploy_module

    from .scripted_steps import ScriptedSteps

    monkeypatch.setattr(deploy_module, "TerraformSteps", ScriptedSteps)
    return deploy_module


def write_repo(root: Path, edges: dict[str, list[str]], *, stack: str = "dev",
               vars: dict[str, dict] | None = None, tf: dict[str, str] | None = None) -> Path:
    """An Atmos-style repo with one stack: `{"b": ["a"]}` makes b depend on a."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "atmos.yaml").write_text(yaml.safe_dump({
        "base_path": ".",
        "components": {"terraform": {"base_path": "components/terraform"}},
        "stacks": {"base_path": "stacks", "included_paths": ["*.yaml"], "name_pattern": "{stage}"},
    }))
    names = set(edges) | {p for parents in edges.values() for p in parents}
    components = {}
    for name in sorted(names):
        body: dict = {"vars": dict((vars or {}).get(name, {}))}
        parents = edges.get(name, [])
        if parents:
            body["settings"] = {"depends_on": {i + 1: {"component": p} for i, p in enumerate(parents)}}
        components[name] = body
        folder = root / "components" / "terraform" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.tf").write_text((tf or {}).get(name, 'variable "stage" {\n  type = string\n}\n'))
    (root / "stacks").mkdir(exist_ok=True)
    # a state path of its own: stack locks (keyed on the state) never meet another test's repo
    backend = {"backend_type": "local",
               "backend": {"local": {"path": f"state-{uuid.uuid4().hex[:12]}.tfstate"}}}
    (root / "stacks" / f"{stack}.yaml").write_text(yaml.safe_dump(
        {"vars": {"stage": stack}, "terraform": backend, "components": {"terraform": components}}))
    return root
