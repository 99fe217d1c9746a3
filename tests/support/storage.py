"""The storage contract tests run on every engine: `database_url` is SQLite unless a test asks.

Mark a test or module `@pytest.mark.parametrize("database_url", ENGINES, indirect=True)` (or use
`on_every_engine`) to run it on SQLite and Postgres alike; `lex_server` and `open_database` follow
the URL. Without the mark `database_url` is a fresh SQLite file, so other tests are unchanged.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path

import psycopg
import pytest

from checkpoints.postgres.pool import is_postgres_url
from checkpoints.postgres.storage import open_postgres_storage
from checkpoints.saver import sqlite_path
from checkpoints.sessions import Clock, utc_now
from checkpoints.storage import Storage, open_sqlite_storage

SQLITE = "sqlite"
POSTGRES = "postgres"
ENGINES = [SQLITE, POSTGRES]
TEST_POOL_SIZE = 4

on_every_engine = pytest.mark.parametrize("database_url", ENGINES, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a SQLite file in `tmp_path`, or (if parametrized so) a Postgres schema."""
    engine = getattr(request, "param", SQLITE)
    if engine == POSTGRES:
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'lex.sqlite'}"


def open_database(url: str, clock: Clock = utc_now) -> AbstractAsyncContextManager[Storage]:
    """Opens the stores at `url` as the app does (tables created); reopen it to test persistence."""
    if is_postgres_url(url):
        return open_postgres_storage(url, pool_size=TEST_POOL_SIZE, clock=clock)
    return open_sqlite_storage(sqlite_path(url), clock)


def checkpoint_count(url: str, thread_id: str) -> int:
    """Counts a thread's checkpoints straight from the database, past the service."""
    if is_postgres_url(url):
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
            ).fetchone()
    else:
        with closing(sqlite3.connect(sqlite_path(url))) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
            ).fetchone()
    assert row is not None
    return int(row[0])
