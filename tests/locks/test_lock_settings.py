"""The two lock settings: how long a run waits, and how long a killed run's lock lingers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stackflow.settings import load_settings


def test_lock_defaults_wait_an_hour_and_lease_two_minutes(monkeypatch):
    monkeypatch.delenv("STACKFLOW_LOCK_TIMEOUT_S", raising=False)
    monkeypatch.delenv("STACKFLOW_LOCK_LEASE_S", raising=False)
    s = load_settings()
    assert (s.lock_timeout_s, s.lock_lease_s) == (3600.0, 120.0)


def test_a_lease_shorter_than_prefects_minimum_is_refused(monkeypatch):
    monkeypatch.setenv("STACKFLOW_LOCK_LEASE_S", "30")
    with pytest.raises(ValidationError, match="lock_lease_s"):
        load_settings()
    assert load_settings(lock_lease_s=60).lock_lease_s == 60
