"""Settings: defaults, STACKFLOW_* environment, explicit overrides on top."""

from pathlib import Path

from stackflow.settings import load_settings


def test_environment_overrides_defaults_and_arguments_override_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STACKFLOW_TERRAFORM_BIN", "tofu")
    monkeypatch.setenv("STACKFLOW_PARALLELISM", "3")
    monkeypatch.setenv("STACKFLOW_HOME", str(tmp_path))
    s = load_settings(parallelism=9)
    assert s.terraform_bin == "tofu"
    assert s.parallelism == 9
    assert s.resolved_work_dir() == Path(tmp_path) / "work"
    assert s.resolved_plan_store() == str(Path(tmp_path) / "plans")


def test_none_overrides_are_ignored(monkeypatch):
    monkeypatch.setenv("STACKFLOW_PARALLELISM", "3")
    assert load_settings(parallelism=None).parallelism == 3


def test_default_binary_is_terraform_on_path(monkeypatch):
    monkeypatch.delenv("STACKFLOW_TERRAFORM_BIN", raising=False)
    assert load_settings().terraform_bin == "terraform"
