"""The collaborators the tools need, bundled so the composition root wires them in one place.

Tools never reach for globals: the appointment book, the weather provider, the clock and the
per-client booking allowance all come from here, which is what lets tests pin the time and swap in
a temporary database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from tools.domain.appointment_book import AppointmentBook
from tools.domain.clock import Clock, utc_now
from tools.domain.weather import SimulatedWeather, WeatherProvider


class BookingQuota(Protocol):
    """How many bookings one client (a network connection, not a customer) may make for a while.

    Without customer logins every conversation is a new customer, so the per-customer cap alone
    lets one client hold a slot per conversation; this counts the client's bookings instead. The
    booking tool takes one only when a booking is about to be confirmed and gives it back when the
    booking fails after all; the caller counts it wherever every process sees the same count.
    """

    async def take(self, client: str) -> float | None:
        """Takes one booking of `client`'s allowance.

        Returns:
            None when taken; otherwise seconds until the client may book again (nothing taken).
        """
        ...

    async def give_back(self, client: str) -> None:
        """Returns a booking `take` took for a booking that was not confirmed after all."""
        ...


@dataclass(frozen=True)
class ToolServices:
    """Everything the tools depend on.

    Attributes:
        appointments: Where test drives are booked.
        weather: Where the weather comes from; the offline simulation unless given.
        clock: Returns the current instant as an aware UTC datetime; the real time unless given.
        max_active_bookings: Upcoming test drives one customer may hold at once; None for no cap.
        booking_quota: Bookings one client may make for a while; None for no limit. A run whose
            context names no client (the operator, Studio) is never limited.
    """

    appointments: AppointmentBook
    weather: WeatherProvider = field(default_factory=SimulatedWeather)
    clock: Clock = field(default=utc_now)
    max_active_bookings: int | None = None
    booking_quota: BookingQuota | None = None

    def now(self) -> datetime:
        """Return the clock's reading as an aware UTC datetime (a naive reading counts as UTC)."""
        reading = self.clock()
        if reading.tzinfo is None:
            return reading.replace(tzinfo=UTC)
        return reading.astimezone(UTC)
