"""What the offline model knows about the world: the dealership directory, the lineup and today.

The directory comes as data from the composition root (never parsed back out of prompt text), so
aliases, states, opening hours and each dealership's models have one source: tools' directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tools.domain.directory import CAR_MODELS, Dealership

DEFAULT_TIMEZONE = "America/New_York"
_TODAY_RE = re.compile(r"\btoday is\b[^\n]*?\b(\d{4})-(\d{2})-(\d{2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Facts:
    """The directory, the lineup and the current time the model reads the customer against.

    Attributes:
        dealerships: The directory; empty when the model was given none.
        car_models: The whole lineup.
        now: The current instant (aware), when a clock was given.
        today: Today's date in `timezone`, from the clock or else from the system prompt.
        timezone: Where "today" is read when no dealership is named.
    """

    dealerships: tuple[Dealership, ...] = ()
    car_models: tuple[str, ...] = ()
    now: datetime | None = None
    today: date | None = None
    timezone: str = DEFAULT_TIMEZONE

    def dealership(self, dealership_id: str) -> Dealership | None:
        """Returns the directory entry with this id, if any."""
        return next((d for d in self.dealerships if d.id == dealership_id), None)

    def today_at(self, dealership_id: str | None) -> date | None:
        """Today in the dealership's own timezone (or the default one), when known."""
        dealership = self.dealership(dealership_id) if dealership_id else None
        if self.now is not None and dealership is not None:
            return self.now.astimezone(dealership.zone).date()
        return self.today

    def next_open_day(self, dealership_id: str, after: date) -> date | None:
        """The first day after `after`, within a week, on which the dealership opens."""
        dealership = self.dealership(dealership_id)
        if dealership is None:
            return None
        for offset in range(1, 8):
            day = after + timedelta(days=offset)
            if dealership.hours_on(day.weekday()) is not None:
                return day
        return None


def read_facts(
    dealerships: Iterable[Dealership],
    *,
    now: datetime | None,
    timezone: str,
    system_texts: Iterable[str] = (),
) -> Facts:
    """Builds the facts for one model call.

    Args:
        dealerships: The directory the model was built with.
        now: The clock's reading, or None to read today from the system prompt.
        timezone: IANA timezone in which today is read.
        system_texts: The system prompts; their "Today is YYYY-MM-DD" line is used without a clock.

    Returns:
        The facts; the lineup is the directory's (all models when the directory is empty).
    """
    directory = tuple(dealerships)
    today: date | None = None
    if now is not None:
        today = now.astimezone(ZoneInfo(timezone)).date()
    else:
        for text in system_texts:
            if match := _TODAY_RE.search(text):
                try:
                    today = date(*(int(part) for part in match.groups()))
                except ValueError:
                    today = None
    models = [m for m in CAR_MODELS if any(m in d.models for d in directory)] or list(CAR_MODELS)
    return Facts(directory, tuple(models), now, today, timezone)
