"""What the service stores, whichever database holds it: the saver and the tables beside it.

`open_sqlite_storage` (here) and `checkpoints.postgres.storage.open_postgres_storage` each yield a
`Storage`; the composition root picks one from `DATABASE_URL`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints.appointments import open_appointment_book
from checkpoints.saver import open_checkpointer
from checkpoints.sessions import SessionRegistry, open_session_registry
from tools.domain.appointment_book import AppointmentBook
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Storage:
    """The open stores of one process.

    Attributes:
        checkpointer: LangGraph's saver: every session's history.
        appointments: The appointment book the booking tools use.
        sessions: The session list.
        ping: Raises when the database does not answer (for `/health`).
        engine: "sqlite" or "postgres".
        shared: Whether several processes may use it at once (Postgres; not a SQLite file).
    """

    checkpointer: BaseCheckpointSaver[Any]
    appointments: AppointmentBook
    sessions: SessionRegistry
    ping: Callable[[], Awaitable[None]]
    engine: str
    shared: bool


@asynccontextmanager
async def open_sqlite_storage(path: Path, clock: Clock = utc_now) -> AsyncIterator[Storage]:
    """Opens the saver, the book and the registry on one SQLite file (created if missing)."""
    async with AsyncExitStack() as stack:
        checkpointer = await stack.enter_async_context(open_checkpointer(path))
        appointments = await stack.enter_async_context(open_appointment_book(path, clock))
        registry = await stack.enter_async_context(open_session_registry(path, clock))

        async def ping() -> None:
            async with checkpointer.conn.execute("SELECT 1") as cursor:
                await cursor.fetchone()

        yield Storage(checkpointer, appointments, registry, ping, engine="sqlite", shared=False)
