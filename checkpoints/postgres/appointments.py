"""The Postgres appointment book: the same table, index and rules as the SQLite book.

The partial unique index admits one confirmed booking per dealership, date and time, so Postgres
settles a race for a slot between any number of processes: exactly one insert succeeds.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Final

from psycopg import errors
from psycopg.rows import tuple_row

from checkpoints.appointments import COLUMNS, ID_ATTEMPTS, appointment_from_row
from checkpoints.postgres.pool import Pool
from tools.domain.appointment_book import (
    CANCELLED,
    CONFIRMED,
    Appointment,
    SlotTakenError,
    new_confirmation_id,
)
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

PRIMARY_KEY: Final = "appointments_pkey"

SCHEMA: Final = (
    """
    CREATE TABLE IF NOT EXISTS appointments (
        confirmation_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        dealership_id TEXT NOT NULL,
        date TEXT NOT NULL,
        time TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
        created_at TEXT NOT NULL,
        cancelled_at TEXT
    )
    """,
    """
    CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_confirmed_per_slot
        ON appointments (dealership_id, date, time) WHERE status = 'confirmed'
    """,
    "CREATE INDEX IF NOT EXISTS appointments_by_user ON appointments (user_id, date, time)",
)
"""The tables and indexes, one statement each (a pooled connection runs one at a time)."""


class PostgresAppointmentBook:
    """An `AppointmentBook` stored in Postgres; the tables come from `migrate`.

    Args:
        pool: The process's connection pool (autocommit).
        clock: Source of booking and cancellation times.
    """

    def __init__(self, pool: Pool, clock: Clock = utc_now) -> None:
        self._pool = pool
        self._clock = clock

    async def book(
        self, *, user_id: str, dealership_id: str, day: date, time: str, model: str
    ) -> Appointment:
        """Book a slot atomically; see `tools.domain.appointment_book.AppointmentBook.book`.

        Raises:
            SlotTakenError: When the slot already holds a confirmed booking.
        """
        created_at = self._clock()
        for _ in range(ID_ATTEMPTS):
            confirmation_id = new_confirmation_id()
            try:
                async with self._pool.connection() as conn:
                    await conn.execute(
                        f"INSERT INTO appointments ({COLUMNS}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (
                            confirmation_id,
                            user_id,
                            dealership_id,
                            day.isoformat(),
                            time,
                            model,
                            CONFIRMED,
                            created_at.isoformat(),
                        ),
                    )
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name == PRIMARY_KEY:
                    continue  # a random id collided: draw another
                raise SlotTakenError(dealership_id, day, time) from exc
            logger.info("booked %s: %s %s %s", confirmation_id, dealership_id, day, time)
            return Appointment(
                confirmation_id=confirmation_id,
                user_id=user_id,
                dealership_id=dealership_id,
                day=day,
                time=time,
                model=model,
                status=CONFIRMED,
                created_at=created_at,
            )
        raise RuntimeError("could not draw an unused confirmation id")

    async def get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Return the user's booking; see `tools.domain.appointment_book.AppointmentBook.get`."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM appointments WHERE confirmation_id = %s AND user_id = %s",
                (confirmation_id, user_id),
            )
            row = await cur.fetchone()
        return appointment_from_row(row) if row else None

    async def list_for_user(self, user_id: str) -> list[Appointment]:
        """Return the user's bookings by date and time, confirmed and cancelled."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                f"SELECT {COLUMNS} FROM appointments WHERE user_id = %s "
                "ORDER BY date, time, confirmation_id",
                (user_id,),
            )
            rows = await cur.fetchall()
        return [appointment_from_row(row) for row in rows]

    async def cancel(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Cancel the user's booking; see `tools.domain.appointment_book.AppointmentBook.cancel`."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE appointments SET status = %s, cancelled_at = %s "
                "WHERE confirmation_id = %s AND user_id = %s AND status = %s",
                (CANCELLED, self._clock().isoformat(), confirmation_id, user_id, CONFIRMED),
            )
            changed = cursor.rowcount
        if changed != 1:
            return None
        logger.info("cancelled %s", confirmation_id)
        return await self.get(user_id, confirmation_id)

    async def booked_times(self, dealership_id: str, day: date) -> set[str]:
        """Return booked start times; see `AppointmentBook.booked_times`."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                "SELECT time FROM appointments WHERE dealership_id = %s AND date = %s "
                "AND status = %s",
                (dealership_id, day.isoformat(), CONFIRMED),
            )
            rows = await cur.fetchall()
        return {str(row[0]) for row in rows}
