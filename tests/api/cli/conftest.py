"""Every CLI test keeps its session secrets in its own folder and knows the operator's token."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.app_server import TEST_ADMIN_TOKEN


@pytest.fixture(autouse=True)
def cli_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Points the terminal client at a fresh sessions file; returns its path."""
    sessions_file = tmp_path / "cli" / "sessions.json"
    monkeypatch.setenv("LEX_SESSIONS_FILE", str(sessions_file))
    monkeypatch.setenv("LEX_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("LEX_ADMIN_TOKEN", TEST_ADMIN_TOKEN)
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    return sessions_file
