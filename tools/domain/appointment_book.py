"""The appointment book the booking tools write to: protocol, record type, in-memory version.

The tools depend only on this protocol; the SQLite implementation lives in `checkpoints/`, beside
the other tables, and the in-memory one serves graphs run without a database (Studio, tests).
A booking is one atomic step in every book: the slot check, the cap on a customer's upcoming
bookings (`BookingCap`) and, for a move, the cancellation of the booking it replaces, so two
concurrent bookings can neither both pass the cap nor leave a customer with both or neither.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Iterable
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


def confirmed_appointment(
    confirmation_id: str,
    *,
    user_id: str,
    dealership_id: str,
    day: date,
    time: str,
    model: str,
    created_at: datetime,
) -> Appointment:
    """Returns a new booking as every book stores it: confirmed, under `confirmation_id`.

    Args:
        confirmation_id: A freshly drawn id (`new_confirmation_id`); the book settles collisions.
        user_id: The customer.
        dealership_id: Directory id of the dealership.
        day: Local date of the test drive.
        time: Local start time "HH:MM".
        model: Canonical model name.
        created_at: When it is booked (UTC).
    """
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


class SlotTakenError(Exception):
    """The slot already holds an active booking; nothing was booked."""

    def __init__(self, dealership_id: str, day: date, time: str) -> None:
        super().__init__(f"{dealership_id} {day.isoformat()} {time} is already booked")
        self.dealership_id = dealership_id
        self.day = day
        self.time = time


class BookingCapError(Exception):
    """The customer already holds as many upcoming bookings as the cap allows; nothing was booked.

    Attributes:
        most: The cap.
        held: The customer's upcoming confirmed bookings (the one a move replaces left out).
    """

    def __init__(self, most: int, held: int) -> None:
        super().__init__(f"{held} upcoming bookings held, at most {most} allowed")
        self.most = most
        self.held = held


class NotReplaceableError(Exception):
    """The booking a move replaces is not the customer's confirmed booking; nothing was booked."""

    def __init__(self, confirmation_id: str) -> None:
        super().__init__(f"{confirmation_id} is not a confirmed booking of this customer")
        self.confirmation_id = confirmation_id


@dataclass(frozen=True)
class BookingCap:
    """At most `most` upcoming confirmed bookings per customer, checked inside the booking.

    The book reads the customer's confirmed bookings from `from_day` on in the same transaction
    as the insert, so concurrent bookings cannot both pass; which of them are still to come is
    the caller's rule (`upcoming`), since only the directory knows each dealership's time zone.

    Attributes:
        most: Upcoming bookings one customer may hold (at least 1).
        from_day: Bookings on earlier days are over wherever they are, so they are not read.
        upcoming: Whether a confirmed booking read (from `from_day` on) is still to come.
    """

    most: int
    from_day: date
    upcoming: Callable[[Appointment], bool]

    def check(self, confirmed: Iterable[Appointment], replaces: str | None = None) -> None:
        """Refuses one more booking when the customer's upcoming bookings fill the cap.

        Args:
            confirmed: The customer's confirmed bookings from `from_day` on.
            replaces: The booking a move cancels in the same step; it does not count.

        Raises:
            BookingCapError: When the customer already holds `most` upcoming bookings.
        """
        held = sum(1 for a in confirmed if a.confirmation_id != replaces and self.upcoming(a))
        if held >= self.most:
            raise BookingCapError(self.most, held)


class AppointmentBook(Protocol):
    """Where test drives are booked; one slot can never be booked twice, even concurrently."""

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
        """Book a slot atomically, within the cap, cancelling the booking it replaces.

        Args:
            user_id: The customer.
            dealership_id: Directory id of the dealership.
            day: Local date of the test drive.
            time: Local start time "HH:MM".
            model: Canonical model name.
            replaces: A confirmed booking of the same customer to cancel in the same step (a
                move); it is kept when the new booking fails.
            cap: The most upcoming bookings the customer may hold; None for no cap.

        Returns:
            The confirmed appointment with a new confirmation id.

        Raises:
            SlotTakenError: When the slot already holds an active booking.
            BookingCapError: When the customer already holds `cap.most` upcoming bookings.
            NotReplaceableError: When `replaces` is not a confirmed booking of the customer.
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
        """Book a slot; see `AppointmentBook.book`."""
        async with self._lock:
            replaced = self._appointments.get(replaces) if replaces is not None else None
            if replaces is not None and (
                replaced is None or replaced.user_id != user_id or replaced.status != CONFIRMED
            ):
                raise NotReplaceableError(replaces)
            if cap is not None:
                cap.check(
                    (
                        a
                        for a in self._appointments.values()
                        if a.user_id == user_id and a.status == CONFIRMED and a.day >= cap.from_day
                    ),
                    replaces,
                )
            if time in self._booked(dealership_id, day, ignoring=replaces):
                raise SlotTakenError(dealership_id, day, time)
            confirmation_id = new_confirmation_id()
            while confirmation_id in self._appointments:
                confirmation_id = new_confirmation_id()
            appointment = confirmed_appointment(
                confirmation_id,
                user_id=user_id,
                dealership_id=dealership_id,
                day=day,
                time=time,
                model=model,
                created_at=self._clock(),
            )
            self._appointments[confirmation_id] = appointment
            if replaced is not None:
                self._appointments[replaced.confirmation_id] = replace(replaced, status=CANCELLED)
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

    def _booked(self, dealership_id: str, day: date, ignoring: str | None = None) -> set[str]:
        return {
            a.time
            for a in self._appointments.values()
            if a.dealership_id == dealership_id
            and a.day == day
            and a.status == CONFIRMED
            and a.confirmation_id != ignoring
        }
