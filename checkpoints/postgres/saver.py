"""LangGraph's `AsyncPostgresSaver` on the shared pool, relying on one of its internals on purpose.

The saver guards every query with one `asyncio.Lock` (`self.lock`, taken in `_cursor`), even when
it is given a pool, so a process runs one checkpoint query at a time however many connections it
has (langgraph issue #7259). Here that lock is swapped for a semaphore sized to the pool: queries
on different connections run together, and the pool still bounds them. The swap relies on `_cursor`
using `self.lock` only as an async context manager, which holds for langgraph-checkpoint-postgres
3.x (pinned in pyproject.toml).
"""

from __future__ import annotations

import asyncio

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

from checkpoints.postgres.pool import Pool
from checkpoints.serde import MemoizingSerializer


class PooledPostgresSaver(AsyncPostgresSaver):
    """An `AsyncPostgresSaver` whose queries run concurrently, up to the pool's size.

    Args:
        pool: The process's connection pool (autocommit, dict rows).
    """

    def __init__(self, pool: Pool) -> None:
        super().__init__(conn=pool, serde=MemoizingSerializer())
        self.lock = asyncio.Semaphore(pool.max_size)  # type: ignore[assignment]
