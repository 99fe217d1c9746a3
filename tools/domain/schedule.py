"""The test-drive calendar: which slots a dealership has on a day, and how dates and times are read.

Pure functions over the directory and a clock reading, so the tools stay thin and every rule
(opening hours, slot grid, local timezone, booking horizon) is tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from typing import Final

from langchain_core.tools import ToolException

from tools.domain.directory import WEEKDAY_NAMES, Dealership

BOOKING_HORIZON_DAYS: Final = 90
"""How far ahead a test drive can be booked, counted in the dealership's local days."""

_DATE_PATTERN: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_PATTERN: Final = re.compile(r"(\d{1,2}):(\d{2})")


def local_now(dealership: Dealership, now: datetime) -> datetime:
    """Return `now` (an aware datetime) in the dealership's timezone."""
    return now.astimezone(dealership.zone)


def describe_day(day: date) -> str:
    """Return a day as people say it, e.g. "Thursday, November 26"."""
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day:%B} {day.day}"


def parse_day(text: str, dealership: Dealership, now: datetime) -> date:
    """Read a booking date and check it is bookable at the dealership.

    Args:
        text: The date as "YYYY-MM-DD".
        dealership: Whose local calendar decides what "today" is.
        now: The current instant (aware).

    Returns:
        The date.

    Raises:
        ToolException: For a malformed date, a past date, or one more than 90 days ahead.
    """
    today = local_now(dealership, now).date()
    example = (today + timedelta(days=1)).isoformat()
    cleaned = text.strip()
    try:
        if not _DATE_PATTERN.fullmatch(cleaned):
            raise ValueError(cleaned)
        day = date.fromisoformat(cleaned)
    except ValueError:
        raise ToolException(
            f"'{text}' is not a valid date. Use the format YYYY-MM-DD, for example {example}. "
            f"Today at {dealership.name} is {today.isoformat()} ({WEEKDAY_NAMES[today.weekday()]})."
        ) from None
    if day < today:
        raise ToolException(
            f"{day.isoformat()} is in the past. Today at {dealership.name} is "
            f"{today.isoformat()} ({WEEKDAY_NAMES[today.weekday()]}); choose today or a later date."
        )
    last = today + timedelta(days=BOOKING_HORIZON_DAYS)
    if day > last:
        raise ToolException(
            f"{day.isoformat()} is too far ahead: test drives can be booked up to "
            f"{BOOKING_HORIZON_DAYS} days in advance, so until {last.isoformat()}."
        )
    return day


def parse_time(text: str) -> str:
    """Read a start time written "HH:MM" (or "H:MM") and return it zero-padded.

    Raises:
        ToolException: When the text is not a 24-hour clock time.
    """
    match = _TIME_PATTERN.fullmatch(text.strip())
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ToolException(
            f"'{text}' is not a valid time. Use the 24-hour format HH:MM, for example 14:30."
        )
    return f"{hour:02d}:{minute:02d}"


def day_slots(dealership: Dealership, day: date) -> list[str]:
    """Return every slot start "HH:MM" of a day, from opening on the slot grid; empty if closed.

    A slot is offered only when the whole test drive fits before closing time.
    """
    hours = dealership.hours_on(day.weekday())
    if hours is None:
        return []
    step = timedelta(minutes=dealership.slot_minutes)
    start = datetime.combine(day, hours.opens)
    closes = datetime.combine(day, hours.closes)
    slots: list[str] = []
    while start + step <= closes:
        slots.append(f"{start:%H:%M}")
        start += step
    return slots


def slot_start(dealership: Dealership, day: date, slot: str) -> datetime:
    """Return the aware start instant of a slot in the dealership's timezone."""
    return datetime.combine(day, time.fromisoformat(slot), tzinfo=dealership.zone)


def upcoming_slots(dealership: Dealership, day: date, now: datetime) -> list[str]:
    """Return the slots of a day that have not started yet at `now`."""
    return [s for s in day_slots(dealership, day) if slot_start(dealership, day, s) > now]


def free_slots(
    dealership: Dealership, day: date, now: datetime, booked: Collection[str]
) -> list[str]:
    """Return the slots of a day that are still ahead and not booked."""
    return [s for s in upcoming_slots(dealership, day, now) if s not in booked]


def no_slots_reason(
    dealership: Dealership, day: date, now: datetime, booked: Collection[str]
) -> str:
    """Explain why a day has no free slots, pointing the customer to what is possible.

    Args:
        dealership: The dealership asked about.
        day: The day asked about.
        now: The current instant (aware).
        booked: Start times already booked that day.
    """
    weekday = WEEKDAY_NAMES[day.weekday()]
    hours = dealership.hours_on(day.weekday())
    if hours is None:
        return (
            f"{dealership.name} is closed on {weekday}s. "
            f"Opening hours: {dealership.hours_summary()}."
        )
    if not upcoming_slots(dealership, day, now):
        return (
            f"No test-drive slots are left today at {dealership.name}: today's slots have "
            f"passed (it closes at {hours.closes:%H:%M} local time, {dealership.timezone}). "
            "Please choose another day."
        )
    return f"Every test-drive slot at {dealership.name} on {describe_day(day)} is already booked."
