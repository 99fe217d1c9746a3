"""Migrations: idempotent, and safe when several processes start together on an empty database."""

from __future__ import annotations

import asyncio
import io

import psycopg
import pytest

from api.cli.main import main
from checkpoints.postgres.migrate import migrate
from checkpoints.postgres.pool import open_pool

EXPECTED_TABLES = {
    "appointments",
    "checkpoint_blobs",
    "checkpoint_migrations",
    "checkpoint_writes",
    "checkpoints",
    "session_secrets",
    "sessions",
}


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return {row[0] for row in rows}


async def migrate_once(url: str) -> None:
    async with open_pool(url, max_size=1) as pool:
        await migrate(pool)


async def test_five_migrations_racing_on_an_empty_database_all_succeed(postgres_url: str) -> None:
    outcomes = await asyncio.gather(
        *(migrate_once(postgres_url) for _ in range(5)), return_exceptions=True
    )
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert tables(postgres_url) == EXPECTED_TABLES
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT COUNT(*), COUNT(DISTINCT v) FROM checkpoint_migrations")
        total, distinct = versions.fetchone() or (0, 0)
    assert total == distinct > 0  # each migration applied once


def test_lex_migrate_creates_the_schema_and_can_run_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    first, second = io.StringIO(), io.StringIO()
    assert main(["migrate"], first) == 0
    assert main(["migrate"], second) == 0
    assert first.getvalue() == second.getvalue() == "schema up to date (postgres)\n"
    assert tables(postgres_url) == EXPECTED_TABLES
