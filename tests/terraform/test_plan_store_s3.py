"""The plan store on S3 (moto): same integrity checks as the local folder."""

import pytest

from stackflow.errors import PlanIntegrityError
from stackflow.tasks.plan_store import PlanStore

pytestmark = pytest.mark.terraform


def test_s3_plan_store_round_trips_and_refuses_a_tampered_plan(sandbox, tmp_path):
    s3 = sandbox.s3_client()
    store = PlanStore(f"s3://{sandbox.state_bucket}/stackflow-plans", s3_client=s3)
    plan = tmp_path / "plan.tfplan"
    plan.write_bytes(b"reviewed plan bytes")
    stored = store.put(plan, "run9/dev/vpc", instance="dev/vpc", commit="c" * 40, config_hash="h")
    assert stored.uri == f"s3://{sandbox.state_bucket}/stackflow-plans/run9/dev/vpc.tfplan"
    assert "stackflow-plans/run9/dev/vpc.json" in {o["Key"] for o in s3.list_objects_v2(
        Bucket=sandbox.state_bucket, Prefix="stackflow-plans/")["Contents"]}
    out = store.fetch(stored, tmp_path / "a.tfplan", commit="c" * 40, config_hash="h")
    assert out.read_bytes() == b"reviewed plan bytes"

    s3.put_object(Bucket=sandbox.state_bucket, Key="stackflow-plans/run9/dev/vpc.tfplan", Body=b"evil")
    with pytest.raises(PlanIntegrityError, match="checksum"):
        store.fetch(stored, tmp_path / "b.tfplan", commit="c" * 40, config_hash="h")
    assert not (tmp_path / "b.tfplan").exists()
