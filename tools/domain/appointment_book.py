"""The appointment book the booking tools write to: protocol, record type, in-memory version.

The tools depend only on this protocol; the SQLite implementation lives in `checkpoints/`, beside
the other tables, and the in-memory one serves graphs run without a database (Studio, tests).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Final, Literal, Protocol

from tools.domain.clock import Clock, utc_now

AppointmentStatus = Literal["confirmed", "cancelled"]
CONFIRMED: Final = "confirmed"
CANCELLED: Final = "cancelled"
NOTHING_BOOKED: Final = "Nothing was booked."
"""Said in every failed booking's message, so the customer never reads a failure as a booking."""

_ID_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
_ID_LENGTH: Final = 6
_ID_PATTERN: Final = re.compile(rf"SC-?([{_ID_ALPHABET}]{{{_ID_LENGTH}}})")


def new_confirmation_id() -> str:
    """Return a fresh random confirmation id, e.g. "SC-7K3F9Q"."""
    return "SC-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def normalize_confirmation_id(text: str) -> str | None:
    """Return the canonical form of a confirmation id as a customer might type it.

    Args:
        text: E.g. "sc-7k3f9q", " SC 7K3F9Q ".

    Returns:
        "SC-7K3F9Q", or None when the text cannot be a confirmation id.
    """
    match = _ID_PATTERN.fullmatch(re.sub(r"\s+", "", text).upper())
    return f"SC-{match.group(1)}" if match else None


@dataclass(frozen=True)
class Appointment:
    """One test-drive booking.

    Attributes:
        confirmation_id: Unique id the customer quotes, e.g. "SC-7K3F9Q".
        user_id: Owner of the booking; only they can see or cancel it.
        dealership_id: Directory id of the dealership.
        day: Local date of the test drive at the dealership.
        time: Local start time "HH:MM".
        model: Canonical model name, e.g. "SuperCar GT".
        status: "confirmed" or "cancelled".
        created_at: When it was booked (UTC).
    """

    confirmation_id: str
    user_id: str
    dealership_id: str
    day: date
    time: str
    model: str
    status: AppointmentStatus
    created_at: datetime


class SlotTakenError(Exception):
    """The slot already holds an active booking; nothing was booked."""

    def __init__(self, dealership_id: str, day: date, time: str) -> None:
        super().__init__(f"{dealership_id} {day.isoformat()} {time} is already booked")
        self.dealership_id = dealership_id
        self.day = day
        self.time = time


class AppointmentBook(Protocol):
    """Where test drives are booked; one slot can never be booked twice, even concurrently."""

    async def book(
        self, *, user_id: str, dealership_id: str, day: date, time: str, model: str
    ) -> Appointment:
        """Book a slot atomically.

        Returns:
            The confirmed appointment with a new confirmation id.

        Raises:
            SlotTakenError: When the slot already holds an active booking.
        """
        ...

    async def get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Return the user's booking with that id in any status, or None (also for others' ids)."""
        ...

    async def list_for_user(self, user_id: str) -> list[Appointment]:
        """Return every booking of the user, confirmed and cancelled, by date and time."""
        ...

    async def cancel(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Cancel the user's confirmed booking, freeing its slot.

        Returns:
            The cancelled appointment, or None when the user has no confirmed booking with that id.
        """
        ...

    async def booked_times(self, dealership_id: str, day: date) -> set[str]:
        """Return the "HH:MM" start times with an active booking at a dealership on a day."""
        ...


class InMemoryAppointmentBook:
    """An `AppointmentBook` held in process memory; bookings vanish with the process.

    Args:
        clock: Source of each booking's `created_at`.
    """

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._appointments: dict[str, Appointment] = {}
        self._lock = asyncio.Lock()

    async def book(
        self, *, user_id: str, dealership_id: str, day: date, time: str, model: str
    ) -> Appointment:
        """Book a slot; see `AppointmentBook.book`."""
        async with self._lock:
            if time in self._booked(dealership_id, day):
                raise SlotTakenError(dealership_id, day, time)
            confirmation_id = new_confirmation_id()
            while confirmation_id in self._appointments:
                confirmation_id = new_confirmation_id()
            appointment = Appointment(
                confirmation_id=confirmation_id,
                user_id=user_id,
                dealership_id=dealership_id,
                day=day,
                time=time,
                model=model,
                status=CONFIRMED,
                created_at=self._clock(),
            )
            self._appointments[confirmation_id] = appointment
            return appointment

    async def get(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Return the user's booking; see `AppointmentBook.get`."""
        appointment = self._appointments.get(confirmation_id)
        return appointment if appointment and appointment.user_id == user_id else None

    async def list_for_user(self, user_id: str) -> list[Appointment]:
        """Return the user's bookings; see `AppointmentBook.list_for_user`."""
        mine = [a for a in self._appointments.values() if a.user_id == user_id]
        return sorted(mine, key=lambda a: (a.day, a.time, a.confirmation_id))

    async def cancel(self, user_id: str, confirmation_id: str) -> Appointment | None:
        """Cancel the user's booking; see `AppointmentBook.cancel`."""
        async with self._lock:
            appointment = await self.get(user_id, confirmation_id)
            if appointment is None or appointment.status != CONFIRMED:
                return None
            cancelled = replace(appointment, status=CANCELLED)
            self._appointments[confirmation_id] = cancelled
            return cancelled

    async def booked_times(self, dealership_id: str, day: date) -> set[str]:
        """Return the booked start times; see `AppointmentBook.booked_times`."""
        return self._booked(dealership_id, day)

    def _booked(self, dealership_id: str, day: date) -> set[str]:
        return {
            a.time
            for a in self._appointments.values()
            if a.dealership_id == dealership_id and a.day == day and a.status == CONFIRMED
        }
