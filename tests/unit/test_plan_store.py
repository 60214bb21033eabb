"""Plans are applied only if their checksum, commit and config fingerprint still match."""

import pytest

from stackflow.errors import ConfigError, PlanIntegrityError
from stackflow.tasks.plan_store import PlanStore


@pytest.fixture
def stored(tmp_path):
    plan = tmp_path / "plan.tfplan"
    plan.write_bytes(b"reviewed plan")
    store = PlanStore(str(tmp_path / "store"))
    return store, store.put(plan, "run1/dev/vpc", instance="dev/vpc", commit="a" * 40, config_hash="c1")


def test_untouched_plan_is_handed_back(stored, tmp_path):
    store, meta = stored
    out = store.fetch(meta, tmp_path / "out.tfplan", commit="a" * 40, config_hash="c1")
    assert out.read_bytes() == b"reviewed plan"


def test_tampered_plan_file_is_refused_and_not_left_behind(stored, tmp_path):
    store, meta = stored
    (tmp_path / "store" / "run1/dev/vpc.tfplan").write_bytes(b"something else")
    with pytest.raises(PlanIntegrityError, match="dev/vpc: plan file .* checksum .* nothing applied"):
        store.fetch(meta, tmp_path / "out.tfplan", commit="a" * 40, config_hash="c1")
    assert not (tmp_path / "out.tfplan").exists()


def test_plan_from_another_commit_is_refused(stored, tmp_path):
    store, meta = stored
    with pytest.raises(PlanIntegrityError, match="made at commit aaaaaaaaaaaa"):
        store.fetch(meta, tmp_path / "o", commit="b" * 40, config_hash="c1")


def test_plan_for_changed_config_is_refused(stored, tmp_path):
    store, meta = stored
    with pytest.raises(PlanIntegrityError, match="resolved config changed"):
        store.fetch(meta, tmp_path / "o", commit="a" * 40, config_hash="c2")


def test_unknown_store_scheme_is_a_config_error():
    with pytest.raises(ConfigError, match="gs://x"):
        PlanStore("gs://x")
