"""The SQLite appointment book: an `appointments` table in the same file as the checkpoints.

A partial unique index admits one confirmed booking per dealership, date and time, so SQLite
itself settles a race for a slot: of concurrent bookings exactly one insert succeeds. A booking
runs in a `BEGIN IMMEDIATE` transaction: it takes the file's write lock before it counts the
customer's bookings against the cap, so no other connection or process can book between the count
and the insert, and a move's cancellation commits or rolls back with the new booking. The book
uses its own connection (`checkpoints.connection`, autocommit outside those transactions) to live
beside LangGraph's saver; the columns and rows are shared with the Postgres book
(`checkpoints.postgres.appointments`).
"""

from __future__ import annotations

import asyncio
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
    BookingCap,
    NotReplaceableError,
    SlotTakenError,
    confirmed_appointment,
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


def appointment_row(appointment: Appointment) -> tuple[str, ...]:
    """Returns the row of `COLUMNS` an appointment is stored as, as `appointment_from_row` reads."""
    return (
        appointment.confirmation_id,
        appointment.user_id,
        appointment.dealership_id,
        appointment.day.isoformat(),
        appointment.time,
        appointment.model,
        appointment.status,
        appointment.created_at.isoformat(),
    )


class SqliteAppointmentBook:
    """An `AppointmentBook` stored in SQLite.

    Open it with `open_appointment_book`. The connection must be in autocommit mode
    (`isolation_level=None`). A booking is a transaction of several statements on that
    connection, so every call takes the book's lock: no other call's statement can land inside
    an open transaction (and be rolled back with it), or read what it has not committed.
    """

    def __init__(self, connection: aiosqlite.Connection, clock: Clock = utc_now) -> None:
        """Wrap an open autocommit connection; call `setup` before use."""
        self._db = connection
        self._clock = clock
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        """Create the table and indexes if missing."""
        async with self._lock:
            await self._db.executescript(SCHEMA)

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
        async with self._lock:
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
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    await self._book_in_transaction(appointment, replaces, cap)
                except sqlite3.IntegrityError as exc:
                    await self._db.rollback()
                    if "appointments.confirmation_id" in str(exc):
                        continue  # a random id collided: draw another
                    raise SlotTakenError(dealership_id, day, time) from exc
                except BaseException:
                    await self._db.rollback()
                    raise
                await self._db.commit()
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
        self, appointment: Appointment, replaces: str | None, cap: BookingCap | None
    ) -> None:
        """The statements of one booking, inside the open transaction."""
        user_id = appointment.user_id
        # Cancelled first: it no longer counts, and a move may keep its slot.
        if replaces is not None and not await self._cancel_confirmed(user_id, replaces):
            raise NotReplaceableError(replaces)
        if cap is not None:
            async with self._db.execute(
                f"SELECT {COLUMNS} FROM appointments WHERE user_id = ? AND status = ? "
                "AND date >= ?",
                (user_id, CONFIRMED, cap.from_day.isoformat()),
            ) as cursor:
                rows = await cursor.fetchall()
            cap.check((appointment_from_row(row) for row in rows), replaces)
        await self._db.execute(
            f"INSERT INTO appointments ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            appointment_row(appointment),
        )

    async def get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Return the user's booking; see `tools.domain.appointment_book.AppointmentBook.get`."""
        async with self._lock:
            return await self._get(user_id, confirmation_id)

    async def _get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        async with self._db.execute(
            f"SELECT {COLUMNS} FROM appointments WHERE confirmation_id = ? AND user_id = ?",
            (confirmation_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return appointment_from_row(row) if row else None

    async def list_for_user(self, user_id: str) -> list[Appointment]:
        """Return the user's bookings by date and time, confirmed and cancelled."""
        async with (
            self._lock,
            self._db.execute(
                f"SELECT {COLUMNS} FROM appointments WHERE user_id = ? "
                "ORDER BY date, time, confirmation_id",
                (user_id,),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [appointment_from_row(row) for row in rows]

    async def cancel(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Cancel the user's booking; see `tools.domain.appointment_book.AppointmentBook.cancel`."""
        async with self._lock:
            if not await self._cancel_confirmed(user_id, confirmation_id):
                return None
            logger.info("cancelled %s", confirmation_id)
            return await self._get(user_id, confirmation_id)

    async def _cancel_confirmed(self, user_id: str, confirmation_id: str) -> bool:
        """Cancels the user's confirmed booking, holding the lock; whether there was one."""
        cursor = await self._db.execute(
            "UPDATE appointments SET status = ?, cancelled_at = ? "
            "WHERE confirmation_id = ? AND user_id = ? AND status = ?",
            (CANCELLED, self._clock().isoformat(), confirmation_id, user_id, CONFIRMED),
        )
        changed = cursor.rowcount
        await cursor.close()
        return changed == 1

    async def booked_times(self, dealership_id: str, day: date) -> set[str]:
        """Return booked start times; see `AppointmentBook.booked_times`."""
        async with (
            self._lock,
            self._db.execute(
                "SELECT time FROM appointments WHERE dealership_id = ? AND date = ? AND status = ?",
                (dealership_id, day.isoformat(), CONFIRMED),
            ) as cursor,
        ):
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
