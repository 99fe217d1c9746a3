"""The Postgres session registry: the same `sessions` table, entries and cursors as in SQLite.

Ids and times compare byte by byte (`COLLATE "C"`), as in SQLite, so pages and cursors agree.
"""

from __future__ import annotations

from typing import Final

from psycopg.rows import tuple_row

from checkpoints.postgres.pool import Pool
from checkpoints.sessions import (
    COLUMNS,
    TITLE_ON_FIRST_TURN,
    SessionPage,
    SessionRecord,
    format_timestamp,
    page_of,
    page_query,
    record_from_row,
    shorten_title,
)
from tools.domain.clock import Clock, utc_now

SCHEMA: Final = (
    """
    CREATE TABLE IF NOT EXISTS sessions (
        session_id TEXT COLLATE "C" PRIMARY KEY,
        thread_id TEXT NOT NULL,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        turn_count INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions (updated_at DESC, session_id DESC)",
    """
    CREATE TABLE IF NOT EXISTS session_secrets (
        session_id TEXT COLLATE "C" PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
)
"""The tables and indexes, one statement each (a pooled connection runs one at a time)."""


class PostgresSessionRegistry:
    """The `sessions` table in Postgres; a `checkpoints.sessions.SessionRegistry`.

    Args:
        pool: The process's connection pool (autocommit).
        clock: Source of the created/updated times.
    """

    def __init__(self, pool: Pool, clock: Clock = utc_now) -> None:
        self._pool = pool
        self._clock = clock

    async def record_turn(self, session_id: str, thread_id: str, user_text: str) -> SessionRecord:
        """Notes that a turn starts; see `SqliteSessionRegistry.record_turn`."""
        now = format_timestamp(self._clock())
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                f"INSERT INTO sessions ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, 1) "
                "ON CONFLICT (session_id) DO UPDATE SET "
                "updated_at = excluded.updated_at, turn_count = sessions.turn_count + 1, "
                f"{TITLE_ON_FIRST_TURN} RETURNING {COLUMNS}",
                (session_id, thread_id, shorten_title(user_text), now, now),
            )
            row = await cur.fetchone()
        if row is None:  # pragma: no cover - RETURNING always gives the row
            raise RuntimeError(f"session {session_id!r} vanished while being recorded")
        return record_from_row(row)

    async def get(self, session_id: str) -> SessionRecord | None:
        """Returns the entry of a session, or None if it was never recorded."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM sessions WHERE session_id = %s", (session_id,)
            )
            row = await cur.fetchone()
        return record_from_row(row) if row is not None else None

    async def list_page(self, limit: int, cursor: str | None = None) -> SessionPage:
        """Returns up to `limit` sessions, most recently updated first.

        Raises:
            InvalidCursorError: for a cursor this registry did not hand out.
        """
        query, params = page_query(limit, cursor, placeholder="%s")
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(query, params)
            records = [record_from_row(row) for row in await cur.fetchall()]
        return page_of(records, limit)

    async def delete(self, session_id: str) -> bool:
        """Removes a session's entry and its secret; returns whether there was an entry."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM session_secrets WHERE session_id = %s", (session_id,))
            cursor = await conn.execute("DELETE FROM sessions WHERE session_id = %s", (session_id,))
            return cursor.rowcount > 0

    async def updated_before(self, cutoff: str, limit: int) -> list[SessionRecord]:
        """Returns up to `limit` sessions idle since before `cutoff` (stored time), oldest first."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM sessions WHERE updated_at < %s "
                "ORDER BY updated_at, session_id LIMIT %s",
                (cutoff, limit),
            )
            return [record_from_row(row) for row in await cur.fetchall()]

    async def create_owned(self, session_id: str, thread_id: str, secret_hash: str) -> None:
        """Creates an empty session that only the holder of its secret may use."""
        now = format_timestamp(self._clock())
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO session_secrets (session_id, secret_hash, created_at) "
                "VALUES (%s, %s, %s)",
                (session_id, secret_hash, now),
            )
            await conn.execute(
                f"INSERT INTO sessions ({COLUMNS}) VALUES (%s, %s, '', %s, %s, 0)",
                (session_id, thread_id, now, now),
            )

    async def secret_hash(self, session_id: str) -> str | None:
        """Returns the hash of a session's secret, or None if it was not created with one."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                "SELECT secret_hash FROM session_secrets WHERE session_id = %s", (session_id,)
            )
            row = await cur.fetchone()
        return str(row[0]) if row is not None else None
