"""App fixtures: the real app (lifespan, SQLite file, tools) on a real uvicorn loopback server."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from api.app import create_app
from api.settings import Settings
from tests.support.live_server import serve

FIXED_NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


_ticks = itertools.count()


def fixed_clock() -> datetime:
    """Tuesday 10:00 in New York, a microsecond later at every reading.

    The day never changes ("tomorrow" is 2026-11-25 in every test), yet what happens later in a
    test reads a later time, as sessions listed newest first need.
    """
    return FIXED_NOW + timedelta(microseconds=next(_ticks))


TEST_ADMIN_TOKEN = "test-operator-token"
"""The operator's token of every test server."""
OPERATOR = {"Authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
"""Headers that make a request the operator's."""


def isolated_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of an isolated service: its own database file and data folder, no .env, offline."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'lex.sqlite'}",
        "model_provider": "offline",
        "groq_api_key": None,
        "model_recheck_interval_s": 0,
        "admin_token": TEST_ADMIN_TOKEN,
        "query_rate_limit": "none",
        "session_turn_limit": "none",
        "session_create_rate_limit": "none",
        "booking_rate_limit": "none",
        "data_dir": str(tmp_path / "data"),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


ServerFactory = Callable[..., AbstractContextManager[str]]


@pytest.fixture
def lex_server(tmp_path: Path, database_url: str) -> ServerFactory:
    """Starts a Lex server: a context manager of its base URL, given a model and settings.

    Its database is `database_url` (a SQLite file in `tmp_path` unless the test asks for Postgres).
    """

    def start(
        chat_model: BaseChatModel | None = None, **overrides: Any
    ) -> AbstractContextManager[str]:
        settings = isolated_settings(tmp_path, **{"database_url": database_url, **overrides})
        app = create_app(settings, chat_model=chat_model, clock=fixed_clock)
        return serve(app)

    return start


@pytest.fixture
def lex_url(lex_server: ServerFactory) -> Iterator[str]:
    """A running Lex server on the offline model."""
    with lex_server() as base_url:
        yield base_url
