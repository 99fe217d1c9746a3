"""The session registry: one row per client `session_id`, beside LangGraph's checkpoint tables.

Listing sessions from checkpoints would scan and unpickle every thread; this small table keeps what
a list needs (thread id, title, times, turn count) and is updated once at the start of each turn.
Times are the wall clock in UTC, written at a fixed width so that text order is time order.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import aiosqlite

from checkpoints.connection import open_sqlite
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 60
"""Longest title kept: the first user message is cut at a word boundary to fit."""
ELLIPSIS = "…"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    turn_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions (updated_at DESC, session_id DESC);
CREATE TABLE IF NOT EXISTS session_secrets (
    session_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
TITLE_ON_FIRST_TURN = (
    "title = CASE WHEN sessions.title = '' THEN excluded.title ELSE sessions.title END"
)
"""A session created empty (`POST /sessions`) takes its title from its first message."""


def format_timestamp(moment: datetime) -> str:
    """Returns `moment` in UTC as fixed-width ISO 8601 text (microseconds always present)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def shorten_title(text: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """Returns a one-line title from a user message: whitespace collapsed, cut at a word boundary.

    Args:
        text: The first user message of the session.
        max_chars: Longest title returned, ellipsis included.
    """
    words = " ".join(text.split())
    if len(words) <= max_chars:
        return words
    budget = max_chars - len(ELLIPSIS)
    # One character more than the budget tells whether the cut falls between two words.
    cut = words[: budget + 1]
    cut = cut[: cut.rindex(" ")] if " " in cut else cut[:budget]
    return (cut.rstrip(" ,.;:-") or words[:budget]) + ELLIPSIS


class InvalidCursorError(ValueError):
    """A pagination cursor that this registry did not hand out."""


@dataclass(frozen=True)
class SessionRecord:
    """One saved conversation.

    Attributes:
        session_id: The client's id for the conversation.
        thread_id: The LangGraph thread id its checkpoints are saved under.
        title: The first user message, shortened.
        created_at: When its first turn started (UTC, ISO 8601).
        updated_at: When its latest turn started (UTC, ISO 8601).
        turn_count: Turns started on the session, on every branch.
    """

    session_id: str
    thread_id: str
    title: str
    created_at: str
    updated_at: str
    turn_count: int


@dataclass(frozen=True)
class SessionPage:
    """One page of the session list, newest first.

    Attributes:
        sessions: The sessions on this page.
        next_cursor: Pass it back to get the next page; None on the last page.
    """

    sessions: list[SessionRecord]
    next_cursor: str | None


def encode_cursor(record: SessionRecord) -> str:
    """Returns an opaque cursor that resumes the list after `record`."""
    raw = json.dumps([record.updated_at, record.session_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Returns the (updated_at, session_id) a cursor resumes after.

    Raises:
        InvalidCursorError: when the cursor was not made by `encode_cursor`.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise InvalidCursorError("the cursor is not one this service handed out") from error
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise InvalidCursorError("the cursor is not one this service handed out")
    return value[0], value[1]


def record_from_row(row: aiosqlite.Row | tuple[object, ...]) -> SessionRecord:
    """Returns the entry a row of `COLUMNS` holds."""
    session_id, thread_id, title, created_at, updated_at, turn_count = tuple(row)
    return SessionRecord(
        session_id=str(session_id),
        thread_id=str(thread_id),
        title=str(title),
        created_at=str(created_at),
        updated_at=str(updated_at),
        turn_count=int(str(turn_count)),
    )


COLUMNS = "session_id, thread_id, title, created_at, updated_at, turn_count"


class SessionRegistry(Protocol):
    """The session list, in SQLite (`SqliteSessionRegistry`) or Postgres."""

    async def record_turn(self, session_id: str, thread_id: str, user_text: str) -> SessionRecord:
        """Notes that a turn starts: creates the entry on the first turn, then bumps it."""
        ...

    async def get(self, session_id: str) -> SessionRecord | None:
        """Returns the entry of a session, or None if it was never recorded."""
        ...

    async def list_page(self, limit: int, cursor: str | None = None) -> SessionPage:
        """Returns up to `limit` sessions, most recently updated first."""
        ...

    async def delete(self, session_id: str) -> bool:
        """Removes a session's entry and its secret; returns whether there was an entry."""
        ...

    async def create_owned(self, session_id: str, thread_id: str, secret_hash: str) -> None:
        """Creates an empty session that only the holder of its secret (hashed here) may use."""
        ...

    async def secret_hash(self, session_id: str) -> str | None:
        """Returns the hash of a session's secret, or None if it was not created with one."""
        ...

    async def updated_before(self, cutoff: str, limit: int) -> list[SessionRecord]:
        """Returns up to `limit` sessions idle since before `cutoff` (stored time), oldest first."""
        ...


def page_query(
    limit: int, cursor: str | None, *, placeholder: str
) -> tuple[str, tuple[object, ...]]:
    """Returns the SQL and parameters of one page of the session list, newest first.

    One more row than `limit` is read, so `page_of` can tell whether a next page exists. Both
    registries run it; only the driver's parameter placeholder differs (`?` or `%s`).

    Raises:
        ValueError: for a limit below 1.
        InvalidCursorError: for a cursor this registry did not hand out.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = "ORDER BY updated_at DESC, session_id DESC"
    if cursor is None:
        return f"SELECT {COLUMNS} FROM sessions {order} LIMIT {placeholder}", (limit + 1,)
    updated_at, session_id = decode_cursor(cursor)
    where = f"(updated_at, session_id) < ({placeholder}, {placeholder})"
    query = f"SELECT {COLUMNS} FROM sessions WHERE {where} {order} LIMIT {placeholder}"
    return query, (updated_at, session_id, limit + 1)


def page_of(records: list[SessionRecord], limit: int) -> SessionPage:
    """Returns the page of `limit` entries out of `limit + 1` read, with the cursor to go on."""
    page = records[:limit]
    next_cursor = encode_cursor(page[-1]) if len(records) > limit else None
    return SessionPage(sessions=page, next_cursor=next_cursor)


class SqliteSessionRegistry:
    """The `sessions` table on an open aiosqlite connection.

    Every write takes the registry's lock: a session's creation is a transaction of several
    statements spanning awaits, and without it another call's statement on this connection ran
    inside that transaction (a turn recorded while a creation failed was rolled back with it).

    Args:
        connection: An autocommit connection (`isolation_level=None`) to the database file.
        clock: Source of the created/updated times.
    """

    def __init__(self, connection: aiosqlite.Connection, clock: Clock = utc_now) -> None:
        self._db = connection
        self._clock = clock
        self._write_lock = asyncio.Lock()

    async def setup(self) -> None:
        """Creates the table and its index if missing."""
        await self._db.executescript(SCHEMA)

    async def record_turn(self, session_id: str, thread_id: str, user_text: str) -> SessionRecord:
        """Notes that a turn starts: creates the entry on the first turn, then bumps it.

        Args:
            session_id: The client's session id.
            thread_id: The thread the session is saved under.
            user_text: The user's message; it becomes the title on the session's first turn.

        Returns:
            The entry after the update.
        """
        now = format_timestamp(self._clock())
        async with self._write_lock:
            await self._db.execute(
                f"INSERT INTO sessions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (session_id) DO UPDATE SET "
                "updated_at = excluded.updated_at, turn_count = sessions.turn_count + 1, "
                f"{TITLE_ON_FIRST_TURN}",
                (session_id, thread_id, shorten_title(user_text), now, now),
            )
        record = await self.get(session_id)
        if record is None:  # pragma: no cover - the row was just written
            raise RuntimeError(f"session {session_id!r} vanished while being recorded")
        return record

    async def get(self, session_id: str) -> SessionRecord | None:
        """Returns the entry of a session, or None if it was never recorded."""
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM sessions WHERE session_id = ?", (session_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return record_from_row(row) if row is not None else None

    async def list_page(self, limit: int, cursor: str | None = None) -> SessionPage:
        """Returns up to `limit` sessions, most recently updated first.

        Args:
            limit: Page size (at least 1).
            cursor: The `next_cursor` of the previous page, or None for the first page.

        Raises:
            InvalidCursorError: for a cursor this registry did not hand out.
        """
        query, params = page_query(limit, cursor, placeholder="?")
        async with self._db.execute(query, params) as rows:
            records = [record_from_row(row) for row in await rows.fetchall()]
        return page_of(records, limit)

    async def delete(self, session_id: str) -> bool:
        """Removes a session's entry and its secret; returns whether there was an entry."""
        async with self._write_lock:
            await self._db.execute(
                "DELETE FROM session_secrets WHERE session_id = ?", (session_id,)
            )
            cursor = await self._db.execute(
                "DELETE FROM sessions WHERE session_id = ?", (session_id,)
            )
            deleted = cursor.rowcount > 0
            await cursor.close()
        return deleted

    async def updated_before(self, cutoff: str, limit: int) -> list[SessionRecord]:
        """Returns up to `limit` sessions idle since before `cutoff` (stored time), oldest first."""
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM sessions WHERE updated_at < ? "
            "ORDER BY updated_at, session_id LIMIT ?",
            (cutoff, limit),
        ) as rows:
            return [record_from_row(row) for row in await rows.fetchall()]

    async def create_owned(self, session_id: str, thread_id: str, secret_hash: str) -> None:
        """Creates an empty session that only the holder of its secret may use.

        Args:
            session_id: A new, server-made session id.
            thread_id: The thread it will be saved under.
            secret_hash: `api.auth.hash_secret` of the secret handed to the client.
        """
        now = format_timestamp(self._clock())
        # The lock also keeps another call's statement on this connection out of the transaction.
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await self._db.execute(
                    "INSERT INTO session_secrets (session_id, secret_hash, created_at) "
                    "VALUES (?, ?, ?)",
                    (session_id, secret_hash, now),
                )
                await self._db.execute(
                    f"INSERT INTO sessions ({COLUMNS}) VALUES (?, ?, '', ?, ?, 0)",
                    (session_id, thread_id, now, now),
                )
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def secret_hash(self, session_id: str) -> str | None:
        """Returns the hash of a session's secret, or None if it was not created with one."""
        async with self._db.execute(
            "SELECT secret_hash FROM session_secrets WHERE session_id = ?", (session_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row is not None else None


async def record_turn(
    registry: SessionRegistry, session_id: str, thread_id: str, first_user_text: str
) -> SessionRecord:
    """Notes the start of a turn in the registry; see `SqliteSessionRegistry.record_turn`."""
    return await registry.record_turn(session_id, thread_id, first_user_text)


@asynccontextmanager
async def open_session_registry(
    db_path: str | Path, clock: Clock = utc_now
) -> AsyncIterator[SqliteSessionRegistry]:
    """Opens the session registry in a SQLite file, creating the file and table if missing.

    The file is normally the checkpoint database, so a session and its history are deleted
    together. The connection is closed when the block exits, also on error.

    Args:
        db_path: Path of the SQLite file; its parent directory is created if needed.
        clock: Source of the created/updated times.

    Yields:
        The ready registry.
    """
    async with open_sqlite(db_path, autocommit=True) as connection:
        registry = SqliteSessionRegistry(connection, clock)
        await registry.setup()
        logger.info("session registry open on %s", db_path)
        yield registry
