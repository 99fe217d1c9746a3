"""Settings the service cannot run with are refused in a few clear lines, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings, SettingsError, describe_invalid, load_settings
from tests.support.lex_process import lex_env
from tests.support.live_server import free_port
from tools.domain.schedule import BOOKING_HORIZON_DAYS


@pytest.fixture(autouse=True)
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs each test where no `.env` is found, with none of the settings below inherited."""
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PROVIDER", "GROQ_API_KEY", "TURN_TIMEOUT_S", "ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_a_bad_value_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_TIMEOUT_S", "abc")
    monkeypatch.setenv("MODEL_PROVIDER", "nope")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid settings:"
    assert any(line.startswith("  MODEL_PROVIDER: ") and "(got 'nope')" in line for line in lines)
    assert any(line.startswith("  TURN_TIMEOUT_S: ") and "(got 'abc')" in line for line in lines)


def test_a_bad_secret_is_named_but_never_repeated() -> None:
    with pytest.raises(ValidationError) as invalid:
        Settings(groq_api_key=["gsk_live_secret"], turn_timeout_s="abc")  # type: ignore[arg-type]
    described = describe_invalid(invalid.value)
    assert "  GROQ_API_KEY: " in described and "(got 'abc')" in described
    assert "gsk_live_secret" not in described


def test_groq_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PROVIDER", "groq")
    with pytest.raises(SettingsError, match="MODEL_PROVIDER=groq needs GROQ_API_KEY"):
        load_settings()


def test_a_mistyped_rate_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKING_RATE_LIMIT", "5/hour;20/fortnight")
    monkeypatch.setenv("QUERY_RATE_LIMIT", "thirty a minute")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    lines = str(refused.value).splitlines()
    assert any(line.startswith("  BOOKING_RATE_LIMIT: ") and "fortnight" in line for line in lines)
    assert any(line.startswith("  QUERY_RATE_LIMIT: ") for line in lines)


def test_conversations_are_kept_past_every_test_drive_booked_in_them() -> None:
    # The last activity of a conversation is at the latest its last booking, at most the
    # horizon (dealership local days, so one day more in UTC) before that test drive.
    ttl = Settings(_env_file=None).session_ttl_days  # type: ignore[call-arg]
    assert ttl > BOOKING_HORIZON_DAYS + 1  # and 0, forever, is no longer the default


def test_good_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_TIMEOUT_S", "12.5")
    assert load_settings().turn_timeout_s == 12.5


def test_the_server_refuses_to_start_with_exit_code_1_and_no_traceback(tmp_path: Path) -> None:
    env = lex_env({"TURN_TIMEOUT_S": "abc", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(free_port())]
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Lex cannot start: invalid settings:\n  TURN_TIMEOUT_S: " in result.stderr
