"""Creates or upgrades the Postgres schema: LangGraph's checkpoint tables and the tables beside.

Idempotent, and safe when replicas start together on an empty database. Measured: concurrent
`AsyncPostgresSaver.setup()` calls fail with `UniqueViolation`, and a blocking advisory lock
deadlocks with its `CREATE INDEX CONCURRENTLY`. So one process at a time holds a session-level
advisory lock, taken by polling `pg_try_advisory_lock`, and migrates on that same connection; the
others wait their turn and find nothing left to do. `lex migrate` runs this once before replicas
start; every process also runs it at startup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from checkpoints.postgres import appointments, sessions
from checkpoints.postgres.pool import Pool

logger = logging.getLogger(__name__)

MIGRATION_LOCK_KEY: Final = 0x6C6578_6D6967  # "lexmig": one key for every Lex deployment
LOCK_POLL_S: Final = 0.1
LOCK_TIMEOUT_S: Final = 120.0


class MigrationLockTimeout(TimeoutError):
    """Another process held the migration lock for longer than the timeout."""


async def migrate(pool: Pool, *, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
    """Brings the schema up to date, one process at a time.

    Args:
        pool: A pool on the database (its `search_path` decides the schema).
        lock_timeout_s: How long to wait for another process's migration.

    Raises:
        MigrationLockTimeout: The lock was not free within `lock_timeout_s`.
    """
    async with pool.connection() as conn:
        deadline = time.monotonic() + lock_timeout_s
        while True:
            row = await (
                await conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS locked", (MIGRATION_LOCK_KEY,)
                )
            ).fetchone()
            if row is not None and row["locked"]:
                break
            if time.monotonic() > deadline:
                raise MigrationLockTimeout(
                    f"another process held the migration lock for over {lock_timeout_s:.0f} s"
                )
            await asyncio.sleep(LOCK_POLL_S)
        try:
            await AsyncPostgresSaver(conn=conn).setup()
            for statement in (*appointments.SCHEMA, *sessions.SCHEMA):
                await conn.execute(statement)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    logger.info("Postgres schema up to date")
