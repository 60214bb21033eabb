"""The gate's timeout and poll interval are settings like any other."""

from __future__ import annotations

from stackflow.settings import load_settings


def test_gate_timeout_defaults_to_a_day_and_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("STACKFLOW_APPROVAL_TIMEOUT_S", raising=False)
    assert load_settings().approval_timeout_s == 86400
    monkeypatch.setenv("STACKFLOW_APPROVAL_TIMEOUT_S", "120")
    monkeypatch.setenv("STACKFLOW_APPROVAL_POLL_S", "2")
    settings = load_settings()
    assert (settings.approval_timeout_s, settings.approval_poll_s) == (120, 2)
    assert load_settings(approval_timeout_s=30).approval_timeout_s == 30
