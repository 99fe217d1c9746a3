"""One psycopg connection pool per process, shared by the saver and the tables beside it.

Connections are in autocommit mode (each statement commits on its own, as LangGraph's Postgres
saver expects) and prepare each statement on its first use (`prepare_threshold=0`, as LangGraph
recommends): Postgres then parses and plans the dozen statements a turn runs once per connection,
not at every turn (measured: about 40% less CPU in the database's processes than without; behind
PgBouncer in transaction mode this needs PgBouncer 1.21+ with `max_prepared_statements`).

A connection that sat idle for more than a second is checked before it is handed out, so a
restarted database costs one reconnect instead of a failed turn. One handed out within the last
second is not checked again, as most pools do (HikariCP's alive-bypass window): under load every
connection is reused within milliseconds, and a check each time cost a round trip per query (a
tenth of a worker's CPU per turn, measured).
"""

from __future__ import annotations

import logging
import time
import weakref
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
CHECK_AFTER_IDLE_S: Final = 1.0
"""A connection handed out again within this long of its last hand-out is not checked."""

Connection = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]


class IdleCheck:
    """The pool's `check`: a round trip only for a connection idle for more than a while.

    Args:
        after_idle_s: How long since its last hand-out a connection is checked again.
    """

    def __init__(self, after_idle_s: float = CHECK_AFTER_IDLE_S) -> None:
        self.after_idle_s = after_idle_s
        self._handed_out: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    async def __call__(self, conn: Connection) -> None:
        """Checks `conn` unless it was handed out moments ago; raises when it is broken."""
        now = time.monotonic()
        last = self._handed_out.get(conn)
        if last is None or now - last > self.after_idle_s:
            await AsyncConnectionPool.check_connection(conn)
        self._handed_out[conn] = now


def is_postgres_url(database_url: str) -> bool:
    """Whether `database_url` names a Postgres database rather than a SQLite file."""
    return database_url.startswith(POSTGRES_SCHEMES)


@asynccontextmanager
async def open_pool(
    database_url: str,
    *,
    max_size: int = DEFAULT_POOL_SIZE,
    check_after_idle_s: float = CHECK_AFTER_IDLE_S,
) -> AsyncIterator[Pool]:
    """Opens the pool and waits for its first connection; closes it when the block exits.

    Args:
        database_url: A `postgresql://` URL (libpq form, query options included).
        max_size: Most connections held at once.
        check_after_idle_s: How long a connection may sit idle before it is checked at hand-out.

    Raises:
        psycopg_pool.PoolTimeout: The database did not accept a connection within the timeout.
    """
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        kwargs=kwargs,
        check=IdleCheck(check_after_idle_s),
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
