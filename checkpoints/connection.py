"""The one way this service opens its SQLite file: parent directory made, WAL, a busy timeout.

The saver, the appointment book and the session registry each hold a connection to the same file;
WAL lets their readers and the single writer proceed together, and the busy timeout makes a writer
wait for the lock instead of failing at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import aiosqlite

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS: Final = 5000


@asynccontextmanager
async def open_sqlite(path: str | Path, *, autocommit: bool) -> AsyncIterator[aiosqlite.Connection]:
    """Opens a connection to the SQLite file at `path`, creating the file if missing.

    Args:
        path: The database file; its parent directory is created if needed.
        autocommit: Every statement commits on its own (the tables beside the saver); otherwise
            the caller commits, as LangGraph's saver does.

    Yields:
        The open connection, closed when the block exits, also on error.
    """
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    isolation: dict[str, None] = {"isolation_level": None} if autocommit else {}
    async with aiosqlite.connect(str(file), **isolation) as connection:
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        async with connection.execute("PRAGMA journal_mode = WAL") as cursor:
            mode = await cursor.fetchone()
        logger.debug("%s journal mode: %s", file, mode[0] if mode else None)
        yield connection
