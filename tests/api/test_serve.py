"""The launcher refuses what cannot work before any worker starts, with a failure exit code.

In-process: `main` returns before uvicorn is started for every case here. A worker failing at
start-up under uvicorn's supervisor is covered by `tests/e2e/test_scale_out.py`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE

from api.process_lock import lock_path_for, single_process_lock
from api.serve import INVALID_SETTINGS, main
from tests.support.lex_process import spawn


@pytest.fixture(autouse=True)
def sqlite_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs each test where no `.env` is found, on a SQLite file of its own, without Redis."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "MODEL_PROVIDER",
        "GROQ_API_KEY",
        "REDIS_URL",
        "RATE_LIMIT_STORAGE_URL",
        "WORKERS",
        "TURN_TIMEOUT_S",
    ):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "lex.sqlite"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    return database


def test_two_workers_on_sqlite_are_refused_with_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--workers", "2"]) == STARTUP_FAILURE
    refused = capsys.readouterr().err
    assert refused.startswith("Lex cannot start: WORKERS=2 was asked for.")
    assert "DATABASE_URL=postgresql://" in refused and "REDIS_URL=redis://" in refused


def test_two_workers_counting_the_limits_in_memory_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each worker would grant a client its whole allowance again (bookings included).
    monkeypatch.setenv("DATABASE_URL", "postgresql://lex@127.0.0.1:9/lex")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setenv("RATE_LIMIT_STORAGE_URL", "memory://")
    assert main(["--workers", "2"]) == STARTUP_FAILURE
    assert "RATE_LIMIT_STORAGE_URL" in capsys.readouterr().err


def test_workers_from_the_environment_are_checked_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKERS", "3")
    assert main([]) == STARTUP_FAILURE
    assert "WORKERS=3 was asked for" in capsys.readouterr().err


def test_a_sqlite_file_another_process_serves_is_refused(
    sqlite_here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = lock_path_for(f"sqlite:///{sqlite_here}", sqlite_here)
    with single_process_lock(lock, str(sqlite_here)):
        assert main([]) == STARTUP_FAILURE
    assert "another Lex process already serves" in capsys.readouterr().err


def test_invalid_settings_exit_1_as_the_app_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TURN_TIMEOUT_S", "abc")
    assert main([]) == INVALID_SETTINGS
    refused = capsys.readouterr().err
    assert refused.startswith("Lex cannot start: invalid settings:")
    assert "TURN_TIMEOUT_S" in refused and "Traceback" not in refused


def test_a_forwarded_address_from_an_untrusted_client_is_ignored(tmp_path: Path) -> None:
    """Without TRUSTED_PROXIES, X-Forwarded-For cannot buy a client a fresh rate limit."""
    database = f"sqlite:///{tmp_path / 'lex.sqlite'}"
    lex = spawn("lex", tmp_path, {"DATABASE_URL": database, "QUERY_RATE_LIMIT": "1/minute"})
    try:
        lex.wait_healthy()
        statuses = [
            httpx.post(
                f"{lex.url}/query",
                json={"query": "hello", "session_id": f"spoof-{n}", "stream_format": "json"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                timeout=30,
            ).status_code
            for n in (1, 2)
        ]
    finally:
        lex.stop()
    assert statuses == [200, 429]
