"""Opens, sets up and closes the SQLite checkpointer that holds every session's history.

One database file holds LangGraph's checkpoint tables and the tables beside them (appointments,
sessions). The client's `session_id` is mapped to a UUID thread id so the same conversation also
opens in LangGraph Studio, which only accepts UUID thread ids.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from checkpoints.connection import open_sqlite
from checkpoints.serde import MemoizingSerializer

logger = logging.getLogger(__name__)

SQLITE_URL_PREFIX = "sqlite:///"
SESSION_NAMESPACE = uuid.UUID("6f1c2a8e-5b7d-4c1e-9a3f-2d8e4b6c1a90")
"""Fixed namespace of the session-to-thread mapping: changing it orphans every saved session."""


class DatabaseUrlError(ValueError):
    """The configured `DATABASE_URL` is not a `sqlite:///` URL."""


def sqlite_path(database_url: str) -> Path:
    """Returns the file a `sqlite:///path` URL points at.

    `sqlite:///data/lex.sqlite` is relative to the working directory and
    `sqlite:////var/lib/lex/lex.sqlite` is absolute, as in SQLAlchemy.

    Raises:
        DatabaseUrlError: for any other scheme or an empty path.
    """
    if not database_url.startswith(SQLITE_URL_PREFIX):
        raise DatabaseUrlError(
            f"DATABASE_URL must look like sqlite:///path/to/file.sqlite, got {database_url!r}"
        )
    raw_path = database_url.removeprefix(SQLITE_URL_PREFIX)
    if not raw_path:
        raise DatabaseUrlError("DATABASE_URL has no file path after sqlite:///")
    return Path(raw_path)


def thread_id_for(session_id: str) -> str:
    """Returns the stable UUID thread id of a client session id."""
    return str(uuid.uuid5(SESSION_NAMESPACE, session_id))


INCREMENTAL_AUTO_VACUUM = 2
"""`PRAGMA auto_vacuum` value under which `PRAGMA incremental_vacuum` returns free pages."""


async def ensure_incremental_vacuum(connection: aiosqlite.Connection, path: Path) -> None:
    """Lets the file give space back after deletes (`reclaim_space`); migrates older files.

    A file made before this setting (auto_vacuum off) is rewritten once with `VACUUM`, which takes
    a moment proportional to its size, at the first start of this release.
    """
    async with connection.execute("PRAGMA auto_vacuum") as cursor:
        row = await cursor.fetchone()
    if row is not None and int(row[0]) == INCREMENTAL_AUTO_VACUUM:
        return
    await connection.execute(f"PRAGMA auto_vacuum = {INCREMENTAL_AUTO_VACUUM}")
    await connection.execute("VACUUM")
    logger.info("%s: incremental auto-vacuum turned on", path)


async def reclaim_space(saver: AsyncSqliteSaver) -> int:
    """Returns the file's free pages to the file system; returns how many there were."""
    async with saver.lock:
        async with saver.conn.execute("PRAGMA freelist_count") as cursor:
            row = await cursor.fetchone()
        free = int(row[0]) if row else 0
        if free:
            # `execute` steps a statement once, and this pragma frees one page per step;
            # `executescript` runs it to the end.
            await saver.conn.executescript("PRAGMA incremental_vacuum;")
    return free


@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """Opens the saver on `path`, creating the file and its tables if needed.

    The connection is closed when the block exits, also on error.
    """
    async with open_sqlite(path, autocommit=False) as connection:
        await ensure_incremental_vacuum(connection, path)
        saver = AsyncSqliteSaver(connection, serde=MemoizingSerializer())
        await saver.setup()
        await saver.conn.execute("PRAGMA synchronous = NORMAL")
        logger.info("checkpointer open on %s", path)
        yield saver
