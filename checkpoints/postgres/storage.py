"""Opens the Postgres storage: one pool, the schema migrated, the saver and the tables on it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from checkpoints.postgres.appointments import PostgresAppointmentBook
from checkpoints.postgres.migrate import migrate
from checkpoints.postgres.pool import DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT_S, open_pool, ping
from checkpoints.postgres.saver import PooledPostgresSaver
from checkpoints.postgres.sessions import PostgresSessionRegistry
from checkpoints.storage import Storage
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)


@asynccontextmanager
async def open_postgres_storage(
    database_url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout_s: float = DEFAULT_TIMEOUT_S,
    clock: Clock = utc_now,
) -> AsyncIterator[Storage]:
    """Opens the pool, brings the schema up to date and yields the stores; closes the pool after.

    Args:
        database_url: A `postgresql://` URL.
        pool_size: Most connections this process holds.
        pool_timeout_s: How long a caller waits for a connection before it fails.
        clock: Source of the booking and session-list times.
    """
    async with open_pool(database_url, max_size=pool_size, timeout_s=pool_timeout_s) as pool:
        await migrate(pool)

        async def check() -> None:
            await ping(pool)

        yield Storage(
            checkpointer=PooledPostgresSaver(pool),
            appointments=PostgresAppointmentBook(pool, clock),
            sessions=PostgresSessionRegistry(pool, clock),
            ping=check,
            engine="postgres",
            shared=True,
        )
