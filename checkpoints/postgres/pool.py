"""One psycopg connection pool per process, shared by the saver and the tables beside it.

Connections are in autocommit mode (each statement commits on its own, as LangGraph's Postgres
saver expects), never prepare statements (so the pool works behind PgBouncer in transaction
mode), and are checked before they are handed out, so a restarted database costs one reconnect
instead of a failed turn.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)

POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
DEFAULT_POOL_SIZE: Final = 10
OPEN_TIMEOUT_S: Final = 30.0

Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


def is_postgres_url(database_url: str) -> bool:
    """Whether `database_url` names a Postgres database rather than a SQLite file."""
    return database_url.startswith(POSTGRES_SCHEMES)


@asynccontextmanager
async def open_pool(database_url: str, *, max_size: int = DEFAULT_POOL_SIZE) -> AsyncIterator[Pool]:
    """Opens the pool and waits for its first connection; closes it when the block exits.

    Args:
        database_url: A `postgresql://` URL (libpq form, query options included).
        max_size: Most connections held at once.

    Raises:
        psycopg_pool.PoolTimeout: The database did not accept a connection within the timeout.
    """
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        open=False,
        name="lex",
    )
    await pool.open(wait=True, timeout=OPEN_TIMEOUT_S)
    logger.info("Postgres pool open (up to %d connections)", max_size)
    try:
        yield pool
    finally:
        await pool.close()


async def ping(pool: Pool) -> None:
    """Runs `SELECT 1` on a pooled connection; raises when the database does not answer."""
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
