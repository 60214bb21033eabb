"""A running test bed: tools + moto + the S3 state bucket and DynamoDB lock table.

`up(D)` writes `D/env` (a file to `source` in bash) and `D/sandbox.json` (the same facts, for
`down`, `status` and other processes); `load(D)` reads them back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from testbed.errors import SandboxError
from testbed.moto_server import is_healthy, start_moto, stop_moto
from testbed.tools import file_lock, install_tools

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
DEFAULT_STATE_BUCKET = "acme-tfstate"
DEFAULT_LOCK_TABLE = "acme-tfstate-lock"
ENV_FILE = "env"
STATE_FILE = "sandbox.json"


@dataclass(frozen=True)
class Sandbox:
    """The facts of one running sandbox, and small boto3 helpers pointed at its moto."""

    dir: Path
    endpoint_url: str
    state_bucket: str
    lock_table: str
    region: str
    moto_pid: int
    moto_port: int
    terraform: Path
    cli_config: Path

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The variables terraform and stackflow need, over `base` minus its own AWS_* names.

        `base` (e.g. `os.environ`) loses every AWS_* variable so that a real profile, token or
        CA bundle from the caller's shell cannot leak into the sandbox.
        """
        inherited = {k: v for k, v in (base or {}).items() if not k.startswith("AWS_")}
        return {
            **inherited,
            "STACKFLOW_TERRAFORM_BIN": str(self.terraform),
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "TF_STATE_BUCKET": self.state_bucket,
            "TF_STATE_LOCK_TABLE": self.lock_table,
            "TF_SANDBOX_SKIP_CHECKS": "true",
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
        }

    @property
    def env_file(self) -> Path:
        return self.dir / ENV_FILE

    @property
    def tools_dir(self) -> Path:
        """Where bin/ and mirror/ are: `dir`, or the `shared_dir` given to `up`."""
        return self.terraform.parent.parent

    def is_healthy(self) -> bool:
        """True if this sandbox's moto server is alive and answering."""
        return is_healthy(self.moto_pid, self.moto_port)

    def client(self, service: str) -> Any:
        """A boto3 client for `service`, pointed at this sandbox's moto."""
        return _client(service, self.endpoint_url, self.region)

    def s3_client(self) -> Any:
        return self.client("s3")

    def ec2_client(self) -> Any:
        return self.client("ec2")

    def dynamodb_client(self) -> Any:
        return self.client("dynamodb")

    def sqs_client(self) -> Any:
        return self.client("sqs")

    def state_keys(self, bucket: str | None = None) -> list[str]:
        """Keys of every object in the state bucket (or `bucket`), sorted."""
        paginator = self.s3_client().get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=bucket or self.state_bucket)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def up(
    dir: Path,
    state_bucket: str = DEFAULT_STATE_BUCKET,
    lock_table: str = DEFAULT_LOCK_TABLE,
    *,
    shared_dir: Path | None = None,
) -> Sandbox:
    """Bring a sandbox up in `dir`, reusing its moto server if that one is still healthy.

    `shared_dir` holds bin/ and mirror/ when several sandboxes share them (see `install_tools`).
    """
    dir = dir.resolve()
    dir.mkdir(parents=True, exist_ok=True)
    with file_lock(dir / ".sandbox.lock"):
        tools = install_tools(dir, shared_dir=shared_dir)
        current = _read(dir)
        if current is not None and current.is_healthy():
            pid, port = current.moto_pid, current.moto_port
        else:
            server = start_moto(dir)
            pid, port = server.pid, server.port
        sandbox = Sandbox(
            dir=dir,
            endpoint_url=f"http://127.0.0.1:{port}",
            state_bucket=state_bucket,
            lock_table=lock_table,
            region=REGION,
            moto_pid=pid,
            moto_port=port,
            terraform=tools.terraform,
            cli_config=tools.cli_config,
        )
        _create_state_backend(sandbox)
        _write(sandbox)
    return sandbox


def down(dir: Path) -> bool:
    """Stop the sandbox's moto and forget it (tools and plugin cache stay); True if it ran."""
    dir = dir.resolve()
    if not dir.is_dir():
        return False
    with file_lock(dir / ".sandbox.lock"):
        stopped = stop_moto(dir)
        (dir / STATE_FILE).unlink(missing_ok=True)
        (dir / ENV_FILE).unlink(missing_ok=True)
    return stopped


def load(dir: Path) -> Sandbox:
    """The running sandbox recorded in `dir`; how other processes find what `up` started."""
    sandbox = _read(dir.resolve())
    if sandbox is None:
        raise SandboxError(f"no sandbox in {dir}: run `python -m testbed up --dir {dir}`")
    if not sandbox.is_healthy():
        raise SandboxError(f"sandbox in {dir} is not running (moto pid {sandbox.moto_pid} is gone)")
    return sandbox


def render_env_file(env: Mapping[str, str]) -> str:
    """`export NAME='value'` lines, single-quoted so bash takes every value literally."""
    lines = ["# stackflow test bed: source this file in bash"]
    lines += [f"export {name}={_single_quote(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def _create_state_backend(sandbox: Sandbox) -> None:
    s3, dynamodb = sandbox.s3_client(), sandbox.dynamodb_client()
    try:
        try:
            s3.create_bucket(Bucket=sandbox.state_bucket)
        except ClientError as exc:
            if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
        try:
            dynamodb.create_table(
                TableName=sandbox.lock_table,
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise
    except (ClientError, BotoCoreError) as exc:
        raise SandboxError(
            f"cannot create state bucket {sandbox.state_bucket} / lock table "
            f"{sandbox.lock_table} on {sandbox.endpoint_url}: {exc}"
        ) from exc


def _write(sandbox: Sandbox) -> None:
    facts = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(sandbox).items()}
    facts["env_file"] = str(sandbox.env_file)
    facts["env"] = sandbox.env()
    _replace_file(sandbox.env_file, render_env_file(sandbox.env()))
    _replace_file(sandbox.dir / STATE_FILE, json.dumps(facts, indent=2) + "\n")


def _read(dir: Path) -> Sandbox | None:
    path = dir / STATE_FILE
    try:
        facts = json.loads(path.read_text())
        return Sandbox(
            dir=Path(facts["dir"]),
            endpoint_url=facts["endpoint_url"],
            state_bucket=facts["state_bucket"],
            lock_table=facts["lock_table"],
            region=facts["region"],
            moto_pid=int(facts["moto_pid"]),
            moto_port=int(facts["moto_port"]),
            terraform=Path(facts["terraform"]),
            cli_config=Path(facts["cli_config"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SandboxError(f"{path} is unreadable ({exc!r}): run `python -m testbed down`") from exc


def _replace_file(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _single_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@functools.cache
def _client(service: str, endpoint_url: str, region: str) -> Any:
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    )
