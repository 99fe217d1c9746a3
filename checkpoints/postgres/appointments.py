"""The Postgres appointment book: the same table, index and rules as the SQLite book.

The partial unique index admits one confirmed booking per dealership, date and time, so Postgres
settles a race for a slot between any number of processes: exactly one insert succeeds.

The cap on a customer's upcoming bookings needs more than an index: the count and the insert must
not interleave with another booking of the same customer. Each booking is one transaction that
first takes a transaction-scoped advisory lock on the customer (`pg_advisory_xact_lock`), so the
bookings of one customer queue up, from any process, while everyone else's run in parallel. A row
lock would not do: a customer with no booking yet has no row to lock. The lock is released at
commit or rollback, so it also works behind PgBouncer in transaction mode.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Final

from psycopg import AsyncConnection, errors
from psycopg.rows import tuple_row

from checkpoints.appointments import COLUMNS, ID_ATTEMPTS, appointment_from_row, appointment_row
from checkpoints.postgres.pool import Pool
from tools.domain.appointment_book import (
    CANCELLED,
    CONFIRMED,
    Appointment,
    BookingCap,
    NotReplaceableError,
    SlotTakenError,
    confirmed_appointment,
    new_confirmation_id,
)
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

PRIMARY_KEY: Final = "appointments_pkey"
CUSTOMER_LOCK_SPACE: Final = "lex-appointments-customer:"
"""Hashed with the customer into the advisory lock key, apart from any other advisory lock."""

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
        self,
        *,
        user_id: str,
        dealership_id: str,
        day: date,
        time: str,
        model: str,
        replaces: str | None = None,
        cap: BookingCap | None = None,
    ) -> Appointment:
        """Book a slot atomically; see `tools.domain.appointment_book.AppointmentBook.book`.

        Raises:
            SlotTakenError: When the slot already holds a confirmed booking.
            BookingCapError: When the customer already holds `cap.most` upcoming bookings.
            NotReplaceableError: When `replaces` is not a confirmed booking of the customer.
        """
        created_at = self._clock()
        for _ in range(ID_ATTEMPTS):
            appointment = confirmed_appointment(
                new_confirmation_id(),
                user_id=user_id,
                dealership_id=dealership_id,
                day=day,
                time=time,
                model=model,
                created_at=created_at,
            )
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    await self._book_in_transaction(conn, appointment, replaces, cap)
            except errors.UniqueViolation as exc:
                if exc.diag.constraint_name == PRIMARY_KEY:
                    continue  # a random id collided: draw another
                raise SlotTakenError(dealership_id, day, time) from exc
            logger.info(
                "booked %s: %s %s %s%s",
                appointment.confirmation_id,
                dealership_id,
                day,
                time,
                f" (replacing {replaces})" if replaces else "",
            )
            return appointment
        raise RuntimeError("could not draw an unused confirmation id")

    async def _book_in_transaction(
        self,
        conn: AsyncConnection[Any],
        appointment: Appointment,
        replaces: str | None,
        cap: BookingCap | None,
    ) -> None:
        """The statements of one booking, inside the open transaction."""
        user_id = appointment.user_id
        if cap is not None:  # first, before any row lock: one customer's bookings queue here
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (CUSTOMER_LOCK_SPACE + user_id,),
            )
        # Cancelled first: it no longer counts, and a move may keep its slot.
        if replaces is not None and not await self._cancel_confirmed(conn, user_id, replaces):
            raise NotReplaceableError(replaces)
        if cap is not None:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(
                    f"SELECT {COLUMNS} FROM appointments WHERE user_id = %s AND status = %s "
                    "AND date >= %s",
                    (user_id, CONFIRMED, cap.from_day.isoformat()),
                )
                rows = await cur.fetchall()
            cap.check((appointment_from_row(row) for row in rows), replaces)
        await conn.execute(
            f"INSERT INTO appointments ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            appointment_row(appointment),
        )

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
            cancelled = await self._cancel_confirmed(conn, user_id, confirmation_id)
        if not cancelled:
            return None
        logger.info("cancelled %s", confirmation_id)
        return await self.get(user_id, confirmation_id)

    async def _cancel_confirmed(
        self, conn: AsyncConnection[Any], user_id: str, confirmation_id: str
    ) -> bool:
        """Cancels the user's confirmed booking on `conn`; whether there was one."""
        cursor = await conn.execute(
            "UPDATE appointments SET status = %s, cancelled_at = %s "
            "WHERE confirmation_id = %s AND user_id = %s AND status = %s",
            (CANCELLED, self._clock().isoformat(), confirmation_id, user_id, CONFIRMED),
        )
        return cursor.rowcount == 1

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
