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


@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """Opens the saver on `path`, creating the file and its tables if needed.

    The connection is closed when the block exits, also on error.
    """
    async with open_sqlite(path, autocommit=False) as connection:
        saver = AsyncSqliteSaver(connection, serde=MemoizingSerializer())
        await saver.setup()
        await saver.conn.execute("PRAGMA synchronous = NORMAL")
        logger.info("checkpointer open on %s", path)
        yield saver
