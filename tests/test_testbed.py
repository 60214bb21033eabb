"""The test bed recipe, proved with the real terraform 1.0.3 and aws provider 3.39.0 on moto."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testbed.errors import SandboxError
from testbed.sandbox import Sandbox, up
from testbed.tools import PROVIDER_SOURCE, PROVIDER_ZIP_NAME, install_tools

pytestmark = pytest.mark.terraform

STATE_KEY = "testbed/vpc.tfstate"


def test_up_again_reuses_the_running_sandbox_and_writes_a_sourceable_env_file(
    sandbox: Sandbox,
) -> None:
    again = up(sandbox.dir, shared_dir=sandbox.tools_dir)

    assert again == sandbox
    shown = subprocess.run(
        ["bash", "-c", f"source {again.env_file} && env"],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert {f"{name}={value}" for name, value in sandbox.env().items()} <= set(shown)


def test_provider_zip_with_wrong_sha256_is_refused(tmp_path: Path) -> None:
    fake_zip = tmp_path / PROVIDER_ZIP_NAME
    fake_zip.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty but well-formed zip

    with pytest.raises(SandboxError, match=r"refusing .*SHA-256"):
        install_tools(tmp_path / "sandbox", provider_zip=fake_zip)

    assert not (tmp_path / "sandbox" / "mirror" / PROVIDER_SOURCE / PROVIDER_ZIP_NAME).exists()


@pytest.fixture(scope="module")
def applied_vpc(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A terraform folder whose one aws_vpc is applied to moto; returns (folder, vpc id)."""
    workdir = tmp_path_factory.mktemp("vpc")
    (workdir / "main.tf").write_text(_vpc_config(sandbox))
    _terraform(sandbox, workdir, "init", "-input=false")
    _terraform(sandbox, workdir, "apply", "-input=false", "-auto-approve")
    named = [{"Name": "tag:Name", "Values": ["stackflow-testbed"]}]
    (vpc,) = sandbox.ec2_client().describe_vpcs(Filters=named)["Vpcs"]
    return workdir, vpc["VpcId"]


def test_apply_keeps_state_in_the_sandbox_bucket_and_lock_table(
    sandbox: Sandbox, applied_vpc: tuple[Path, str]
) -> None:
    workdir, vpc_id = applied_vpc

    assert STATE_KEY in sandbox.state_keys()
    vpcs = sandbox.ec2_client().describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpcs[0]["CidrBlock"] == "10.42.0.0/16"
    lock_ids = [
        item["LockID"]["S"]
        for item in sandbox.dynamodb_client().scan(TableName=sandbox.lock_table)["Items"]
    ]
    assert f"{sandbox.state_bucket}/{STATE_KEY}-md5" in lock_ids
    no_changes = _terraform(sandbox, workdir, "plan", "-input=false", "-detailed-exitcode")
    assert no_changes.returncode == 0


def test_tag_changed_behind_terraforms_back_is_drift(
    sandbox: Sandbox, applied_vpc: tuple[Path, str]
) -> None:
    workdir, vpc_id = applied_vpc
    ec2 = sandbox.ec2_client()
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "someone-else"}])
    try:
        drift = _terraform(
            sandbox, workdir, "plan", "-input=false", "-detailed-exitcode", check=False
        )
    finally:
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Owner", "Value": "platform"}])

    assert drift.returncode == 2, drift.stderr
    assert '"someone-else" -> "platform"' in drift.stdout


def _terraform(
    sandbox: Sandbox, workdir: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the sandbox's terraform in `workdir`; with `check`, fail on exit codes other than 0/2."""
    result = subprocess.run(
        [str(sandbox.terraform), *args, "-no-color"],
        cwd=workdir,
        env=sandbox.env(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode not in (0, 2):
        pytest.fail(f"terraform {args[0]} exited {result.returncode}: {result.stderr}")
    return result


def _vpc_config(sandbox: Sandbox) -> str:
    url = json.dumps(sandbox.endpoint_url)
    return f"""
terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "3.39.0"
    }}
  }}
  backend "s3" {{
    bucket                      = {json.dumps(sandbox.state_bucket)}
    key                         = {json.dumps(STATE_KEY)}
    region                      = {json.dumps(sandbox.region)}
    endpoint                    = {url}
    dynamodb_endpoint           = {url}
    dynamodb_table              = {json.dumps(sandbox.lock_table)}
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    skip_region_validation      = true
  }}
}}

provider "aws" {{
  region                      = {json.dumps(sandbox.region)}
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_force_path_style         = true
  endpoints {{
    s3       = {url}
    ec2      = {url}
    dynamodb = {url}
    sts      = {url}
    iam      = {url}
  }}
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.42.0.0/16"
  tags = {{
    Name  = "stackflow-testbed"
    Owner = "platform"
  }}
}}
"""
