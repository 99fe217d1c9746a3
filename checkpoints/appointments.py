"""The SQLite appointment book: an `appointments` table in the same file as the checkpoints.

A partial unique index admits one confirmed booking per dealership, date and time, so SQLite
itself settles a race for a slot: of concurrent bookings exactly one insert succeeds. The book uses
its own autocommit connection (`checkpoints.connection`) to live beside LangGraph's saver. The
columns and rows are shared with the Postgres book (`checkpoints.postgres.appointments`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import aiosqlite

from checkpoints.connection import open_sqlite
from tools.domain.appointment_book import (
    CANCELLED,
    CONFIRMED,
    Appointment,
    AppointmentStatus,
    SlotTakenError,
    new_confirmation_id,
)
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

ID_ATTEMPTS: Final = 5
"""Confirmation ids drawn before giving up: a random id colliding even twice is unheard of."""

SCHEMA: Final = """
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
);
CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_confirmed_per_slot
    ON appointments (dealership_id, date, time) WHERE status = 'confirmed';
CREATE INDEX IF NOT EXISTS appointments_by_user ON appointments (user_id, date, time);
"""

COLUMNS: Final = "confirmation_id, user_id, dealership_id, date, time, model, status, created_at"


def appointment_from_row(row: Iterable[Any]) -> Appointment:
    """Returns the appointment a row of `COLUMNS` holds."""
    confirmation_id, user_id, dealership_id, day, time, model, status, created_at = row
    state: AppointmentStatus = CANCELLED if status == CANCELLED else CONFIRMED
    return Appointment(
        confirmation_id=confirmation_id,
        user_id=user_id,
        dealership_id=dealership_id,
        day=date.fromisoformat(day),
        time=time,
        model=model,
        status=state,
        created_at=datetime.fromisoformat(created_at),
    )


class SqliteAppointmentBook:
    """An `AppointmentBook` stored in SQLite.

    Open it with `open_appointment_book`. The connection must be in autocommit mode
    (`isolation_level=None`): every change is a single statement, so concurrent calls sharing the
    connection never share a transaction.
    """

    def __init__(self, connection: aiosqlite.Connection, clock: Clock = utc_now) -> None:
        """Wrap an open autocommit connection; call `setup` before use."""
        self._db = connection
        self._clock = clock

    async def setup(self) -> None:
        """Create the table and indexes if missing."""
        await self._db.executescript(SCHEMA)

    async def book(
        self, *, user_id: str, dealership_id: str, day: date, time: str, model: str
    ) -> Appointment:
        """Book a slot atomically; see `tools.domain.appointment_book.AppointmentBook.book`.

        Raises:
            SlotTakenError: When the slot already holds a confirmed booking.
        """
        created_at = self._clock()
        for _ in range(ID_ATTEMPTS):
            appointment = Appointment(
                confirmation_id=new_confirmation_id(),
                user_id=user_id,
                dealership_id=dealership_id,
                day=day,
                time=time,
                model=model,
                status=CONFIRMED,
                created_at=created_at,
            )
            try:
                await self._db.execute(
                    f"INSERT INTO appointments ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        appointment.confirmation_id,
                        user_id,
                        dealership_id,
                        day.isoformat(),
                        time,
                        model,
                        CONFIRMED,
                        created_at.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "appointments.confirmation_id" in str(exc):
                    continue  # a random id collided: draw another
                raise SlotTakenError(dealership_id, day, time) from exc
            logger.info(
                "booked %s: %s %s %s", appointment.confirmation_id, dealership_id, day, time
            )
            return appointment
        raise RuntimeError("could not draw an unused confirmation id")

    async def get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Return the user's booking; see `tools.domain.appointment_book.AppointmentBook.get`."""
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM appointments WHERE confirmation_id = ? AND user_id = ?",
            (confirmation_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return appointment_from_row(row) if row else None

    async def list_for_user(self, user_id: str) -> list[Appointment]:
        """Return the user's bookings by date and time, confirmed and cancelled."""
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM appointments WHERE user_id = ? "
            "ORDER BY date, time, confirmation_id",
            (user_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [appointment_from_row(row) for row in rows]

    async def cancel(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Cancel the user's booking; see `tools.domain.appointment_book.AppointmentBook.cancel`."""
        cursor = await self._db.execute(
            "UPDATE appointments SET status = ?, cancelled_at = ? "
            "WHERE confirmation_id = ? AND user_id = ? AND status = ?",
            (CANCELLED, self._clock().isoformat(), confirmation_id, user_id, CONFIRMED),
        )
        changed = cursor.rowcount
        await cursor.close()
        if changed != 1:
            return None
        logger.info("cancelled %s", confirmation_id)
        return await self.get(user_id, confirmation_id)

    async def booked_times(self, dealership_id: str, day: date) -> set[str]:
        """Return booked start times; see `AppointmentBook.booked_times`."""
        async with self._db.execute(
            "SELECT time FROM appointments WHERE dealership_id = ? AND date = ? AND status = ?",
            (dealership_id, day.isoformat(), CONFIRMED),
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(row[0]) for row in rows}


@asynccontextmanager
async def open_appointment_book(
    db_path: str | Path, clock: Clock = utc_now
) -> AsyncIterator[SqliteAppointmentBook]:
    """Open the appointment book in a SQLite file, creating the file and table if missing.

    The file may be the checkpoint database: the table sits beside LangGraph's tables. The
    connection is closed when the block exits, also on error.

    Args:
        db_path: Path of the SQLite file; its parent directory is created if needed.
        clock: Source of booking and cancellation times.

    Yields:
        The ready appointment book.
    """
    async with open_sqlite(db_path, autocommit=True) as connection:
        book = SqliteAppointmentBook(connection, clock)
        await book.setup()
        logger.info("appointment book open on %s", db_path)
        yield book
