"""The collaborators the tools need, bundled so the composition root wires them in one place.

Tools never reach for globals: the appointment book, the weather provider and the clock all come
from here, which is what lets tests pin the time and swap in a temporary database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tools.domain.appointment_book import AppointmentBook
from tools.domain.clock import Clock, utc_now
from tools.domain.weather import SimulatedWeather, WeatherProvider


@dataclass(frozen=True)
class ToolServices:
    """Everything the tools depend on.

    Attributes:
        appointments: Where test drives are booked.
        weather: Where the weather comes from; the offline simulation unless given.
        clock: Returns the current instant as an aware UTC datetime; the real time unless given.
        max_active_bookings: Upcoming test drives one customer may hold at once; None for no cap.
    """

    appointments: AppointmentBook
    weather: WeatherProvider = field(default_factory=SimulatedWeather)
    clock: Clock = field(default=utc_now)
    max_active_bookings: int | None = None

    def now(self) -> datetime:
        """Return the clock's reading as an aware UTC datetime (a naive reading counts as UTC)."""
        reading = self.clock()
        if reading.tzinfo is None:
            return reading.replace(tzinfo=UTC)
        return reading.astimezone(UTC)
