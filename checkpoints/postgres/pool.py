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

While the database is down or restarting every wait stays short. psycopg_pool's defaults suit a
batch job: a caller waited 30 s for a connection, and a lost connection was retried ever further
apart (1, 2, 4, 8 s... for 5 minutes), so a database back after a minute was noticed up to a
minute later. Here a caller waits `timeout_s` and the pool's attempts give up after as long, so
the next caller starts new ones at once. And a connection that fails its check has every idle one
checked at once (they are from the same database, likely restarted), instead of each costing a
caller a failed check and a pause of 1, 2, then 4 s in turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Final

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)

POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
DEFAULT_POOL_SIZE: Final = 10
DEFAULT_TIMEOUT_S: Final = 5.0
"""How long a request waits for a connection before it fails (DATABASE_POOL_TIMEOUT_S)."""
OPEN_TIMEOUT_S: Final = 30.0
"""How long the start waits for the database (it may still be starting beside Lex)."""
TCP_KEEPALIVES: Final = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
"""libpq's TCP settings: a dead peer is noticed within about a minute, idle or mid-query (the URL's
own values win)."""
CHECK_AFTER_IDLE_S: Final = 1.0
"""A connection handed out again within this long of its last hand-out is not checked."""

Connection = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]


class IdleCheck:
    """The pool's `check`: a round trip only for a connection idle for more than a while.

    Args:
        after_idle_s: How long since its last hand-out a connection is checked again.
        on_broken: Called when a connection fails its check.
    """

    def __init__(
        self, after_idle_s: float = CHECK_AFTER_IDLE_S, on_broken: Callable[[], None] | None = None
    ) -> None:
        self.after_idle_s = after_idle_s
        self.on_broken = on_broken
        self._handed_out: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    async def __call__(self, conn: Connection) -> None:
        """Checks `conn` unless it was handed out moments ago; raises when it is broken."""
        now = time.monotonic()
        last = self._handed_out.get(conn)
        if last is None or now - last > self.after_idle_s:
            try:
                await AsyncConnectionPool.check_connection(conn)
            except Exception:
                if self.on_broken is not None:
                    self.on_broken()
                raise
        self._handed_out[conn] = now


class BrokenConnectionSweep:
    """Checks every idle connection of the pool in the background, one sweep at a time.

    Started when one connection is found broken: the pool then replaces each broken one with a
    new connection, so the request that found the first does not meet the others.

    Args:
        pool: The pool to check.
    """

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts a sweep unless one is running."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._sweep(), name="postgres-pool-sweep")

    async def _sweep(self) -> None:
        logger.info("a pooled Postgres connection was broken: checking the others")
        try:
            await self.pool.check()
        except Exception as error:  # a failed sweep leaves the checks at hand-out to do it
            logger.warning("could not check the pooled connections: %s", type(error).__name__)

    async def stop(self) -> None:
        """Waits for a running sweep to end (cancelling it)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


def is_postgres_url(database_url: str) -> bool:
    """Whether `database_url` names a Postgres database rather than a SQLite file."""
    return database_url.startswith(POSTGRES_SCHEMES)


@asynccontextmanager
async def open_pool(
    database_url: str,
    *,
    max_size: int = DEFAULT_POOL_SIZE,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    check_after_idle_s: float = CHECK_AFTER_IDLE_S,
    open_timeout_s: float = OPEN_TIMEOUT_S,
) -> AsyncIterator[Pool]:
    """Opens the pool and waits for its first connection; closes it when the block exits.

    Args:
        database_url: A `postgresql://` URL (libpq form, query options included).
        max_size: Most connections held at once.
        timeout_s: How long a caller waits for a connection (then `PoolTimeout`), and how long
            the pool keeps trying to reconnect before it waits for the next caller.
        check_after_idle_s: How long a connection may sit idle before it is checked at hand-out.
        open_timeout_s: How long to wait for the database to accept a first connection.

    Raises:
        psycopg_pool.PoolTimeout: The database did not accept a connection within
            `open_timeout_s`.
    """
    kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    given = conninfo_to_dict(database_url)
    if "connect_timeout" not in given:
        kwargs["connect_timeout"] = max(1, round(timeout_s))  # libpq takes whole seconds
    # A connection the network dropped silently (a failover, a NAT that forgot it) would hang a
    # query, or the sweep holding every idle connection, until the kernel gave up (~15 min).
    kwargs.update({name: value for name, value in TCP_KEEPALIVES.items() if name not in given})
    idle_check = IdleCheck(check_after_idle_s)
    pool: Pool = AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        kwargs=kwargs,
        check=idle_check,
        timeout=timeout_s,
        reconnect_timeout=timeout_s,
        open=False,
        name="lex",
    )
    sweep = BrokenConnectionSweep(pool)
    idle_check.on_broken = sweep.start
    await pool.open()
    try:
        await _first_connection(pool, open_timeout_s)
        logger.info("Postgres pool open (up to %d connections)", max_size)
        yield pool
    finally:
        await sweep.stop()
        await pool.close()


async def _first_connection(pool: Pool, within_s: float) -> None:
    """Waits until the database answers, asking again as each short attempt gives up.

    The pool's own attempts give up after its timeout, so the wait for a database that is still
    starting is a loop of such attempts.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            await ping(pool, timeout_s=max(0.1, min(pool.timeout, deadline - time.monotonic())))
            return
        except psycopg.OperationalError as error:
            if time.monotonic() >= deadline:
                raise PoolTimeout(
                    f"the database accepted no connection within {within_s:.0f} s"
                ) from error
            await asyncio.sleep(0.1)  # a connection that broke at once must not make a busy loop


async def ping(pool: Pool, timeout_s: float | None = None) -> None:
    """Runs `SELECT 1` on a pooled connection; raises when the database does not answer.

    Args:
        pool: The pool.
        timeout_s: How long to wait for a connection; None: the pool's timeout.
    """
    async with pool.connection(timeout=timeout_s) as conn:
        await conn.execute("SELECT 1")
