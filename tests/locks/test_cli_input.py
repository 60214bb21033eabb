"""Bad input to `stackflow lock|unlock|locks`: one line naming what is wrong, exit 2."""

from __future__ import annotations

import pytest

from stackflow.cli import main


def _fails(capsys, *argv: str) -> str:
    capsys.readouterr()
    rc = main(list(argv))
    _, err = capsys.readouterr()
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("stackflow: error: "), err
    return err.strip().removeprefix("stackflow: error: ")


@pytest.fixture
def tiny(fixture_repo):
    return str(fixture_repo("tiny"))


def test_lock_without_instance_or_reason_is_refused(capsys, tiny):
    assert "required: STACK[/COMPONENT], --reason" in _fails(capsys, "lock")
    assert "required: --reason" in _fails(capsys, "lock", "twins/topic", "--repo", tiny)
    assert _fails(capsys, "lock", "twins/topic", "--reason", "  ", "--repo", tiny) == (
        "lock twins/topic: --reason must not be empty")
    assert "required: STACK[/COMPONENT]|LOCK" in _fails(capsys, "unlock")


def test_unknown_stack_or_instance_is_named(capsys, tiny):
    assert _fails(capsys, "lock", "twins/nope", "--reason", "x", "--repo", tiny) == (
        "lock twins/nope: no such stack or instance")
    assert _fails(capsys, "lock", "nowhere", "--reason", "x", "--repo", tiny) == (
        "lock nowhere: no such stack or instance")
    assert _fails(capsys, "unlock", "twins/nope", "--repo", tiny) == (
        "unlock twins/nope: no such stack or instance")


def test_locks_without_a_prefect_server_says_so(capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert _fails(capsys, "locks").startswith("PREFECT_API_URL is not set")


@pytest.mark.prefect_server
def test_unlocking_what_is_not_locked_names_it(capsys, tiny, prefect_env):
    assert _fails(capsys, "unlock", "twins/topic", "--repo", tiny) == (
        "unlock twins/topic: not locked for maintenance")
    assert _fails(capsys, "unlock", "stackflow-gone-deadbeef") == (
        "lock stackflow-gone-deadbeef: not locked for maintenance")


@pytest.mark.prefect_server
def test_a_client_without_the_servers_auth_string_gets_one_line(capsys, prefect_env):
    from prefect.settings import PREFECT_API_AUTH_STRING, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_AUTH_STRING}):
        capsys.readouterr()
        assert main(["locks"]) == 1
        err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith("answered 401 Unauthorized; set PREFECT_API_AUTH_STRING to the server's "
                        "PREFECT_SERVER_API_AUTH_STRING")


def test_freeing_a_terraform_state_lock_needs_one_instance_and_an_id(capsys, tiny):
    assert _fails(capsys, "unlock", "twins", "--state-lock", "abc", "--repo", tiny) == (
        "unlock twins --state-lock: name one instance as STACK/COMPONENT")
    assert _fails(capsys, "unlock", "twins/*", "--state-lock", "abc", "--repo", tiny) == (
        "unlock twins/* --state-lock: name one instance as STACK/COMPONENT")
    assert _fails(capsys, "unlock", "twins/topic", "--state-lock", " ", "--repo", tiny) == (
        "unlock --state-lock: give the lock ID terraform printed")
