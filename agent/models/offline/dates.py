"""Dates and clock times in customer text, read as ISO dates and 24-hour HH:MM.

Relative days resolve against the given today (the dealership's local day); no clock is read here.
The rules, one each, so nobody has to guess:
- A weekday, "this <weekday>" and "next <weekday>" all mean the first such day after today (never
  today itself): on a Tuesday, "next Friday" is in three days and "Tuesday" is in seven.
- "<weekday> after next" is a week after that: on a Tuesday, "the Friday after next" is in ten days.
- An ordinal alone ("the 3rd") is the next day with that number, today included.
- A weekday with an ordinal ("Wednesday the 9th") is the next 9th that falls on a Wednesday
  within a year (the next 9th if none does); the number wins over the weekday.
- A month and day without a year ("Dec 5") is the next such day, today included.
- "The weekend" is the coming Saturday (today on a Saturday).
- An hour without am/pm is read in showroom hours: 1 to 7 mean the afternoon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_SMALL_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(WEEKDAYS)


@dataclass(frozen=True)
class Found:
    """A value read from text with the span it came from, so the span can be blanked out."""

    value: str
    start: int
    end: int


def safe_date(year: int, month: int, day: int) -> date | None:
    """Returns the date, or None when the numbers name no real day."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- dates -------------------------------------------------------------------------------------

ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH_DATE_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\b")
_MONTH_DAY_RE = re.compile(
    rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*(\d{{4}})\b)?(?!\s*(?::|am\b|pm\b))"
)
_DAY_MONTH_RE = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s*(\d{{4}})\b)?"
)
_RELATIVE_DAY_RE = re.compile(r"\b(?:the\s+)?(day after tomorrow|tomorrow|today|tonight)\b")
_IN_DAYS_RE = re.compile(r"\bin\s+(\d{1,2}|one|two|three|four|five|six|seven)\s+days?\b")
_WEEKDAY_RE = re.compile(rf"\b(?:(?:next|this|coming|on)\s+)?({_WEEKDAY})s?\b")
_SHORT_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_SHORT_WEEKDAY_RE = re.compile(
    r"\b(?:(?:on|next|this|for|coming|by)\s+)(mon|tue|wed|thu|fri|sat|sun)\b\.?"
)
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)"
_ORDINAL_RE = re.compile(rf"\b(?:(?:on|for)\s+)?the\s+{_ORDINAL}\b|\bon\s+{_ORDINAL}\b")
_WEEKDAY_ORDINAL_RE = re.compile(
    rf"\b(?:(?:next|this|on)\s+)?({_WEEKDAY}|mon|tue|wed|thu|fri|sat|sun),?\s+(?:the\s+)?"
    rf"{_ORDINAL}\b"
)
_AFTER_NEXT_RE = re.compile(rf"\b(?:the\s+)?({_WEEKDAY})\s+after\s+next\b")
_WEEKEND_RE = re.compile(r"\b(?:this|the|next|on the|over the)\s+weekend\b|\bweekend\b")
_THIS_PART_RE = re.compile(r"\bthis\s+(?:morning|afternoon|evening)\b")
_IN_A_WEEK_RE = re.compile(r"\bin\s+a\s+week\b|\ba\s+week\s+from\s+(?:today|now)\b")
_RELATIVE_OFFSETS = {"today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2}


_Candidate = tuple[int, int, date | None]


def find_date(text: str, today: date | None) -> tuple[Found | None, bool]:
    """Finds the first date in text.

    Args:
        text: Normalized customer text.
        today: The prompt's today, if known.

    Returns:
        (the date found as ISO text, whether it needs the unknown today); a date relative to an
        unknown today is found with empty text.
    """
    candidates = _calendar_dates(text, today) + _relative_dates(text, today)
    if not candidates:
        return None, False
    start, end, found = min(candidates, key=lambda c: (c[0], -c[1]))
    if found is None:
        return Found("", start, end), True
    return Found(found.isoformat(), start, end), False


def _calendar_dates(text: str, today: date | None) -> list[_Candidate]:
    """Dates written with a month: 2026-11-26, 11/26, Nov 26, 26th of November."""
    candidates: list[_Candidate] = []
    for match in ISO_DATE_RE.finditer(text):
        numbers = [int(g) for g in match.groups()]
        candidates.append((match.start(), match.end(), safe_date(*numbers)))
    for regex, month_group, day_group in (
        (_SLASH_DATE_RE, 1, 2),
        (_MONTH_DAY_RE, 1, 2),
        (_DAY_MONTH_RE, 2, 1),
    ):
        for match in regex.finditer(text):
            month_text = match.group(month_group)
            month = MONTHS.get(month_text) or int(month_text)
            day = int(match.group(day_group))
            year = int(match.group(3)) if match.group(3) else None
            if safe_date(2000, month, day):  # 2000 is a leap year: any real month/day passes
                candidates.append((match.start(), match.end(), _month_day(today, month, day, year)))
    return candidates


def _relative_dates(text: str, today: date | None) -> list[_Candidate]:
    """Dates named relative to today: today, tomorrow, in 3 days, (next) friday."""
    candidates: list[_Candidate] = []
    for match in _RELATIVE_DAY_RE.finditer(text):
        offset = _RELATIVE_OFFSETS[match.group(1)]
        candidates.append((match.start(), match.end(), _shift(today, offset)))
    for match in _IN_DAYS_RE.finditer(text):
        count = _SMALL_NUMBERS.get(match.group(1)) or int(match.group(1))
        candidates.append((match.start(), match.end(), _shift(today, count)))
    for match in _WEEKDAY_RE.finditer(text):
        target = WEEKDAYS.index(match.group(1))
        candidates.append((match.start(), match.end(), _next_weekday(today, target)))
    for match in _AFTER_NEXT_RE.finditer(text):
        target = WEEKDAYS.index(match.group(1))
        candidates.append((match.start(), match.end(), _shift(_next_weekday(today, target), 7)))
    for match in _SHORT_WEEKDAY_RE.finditer(text):
        target = _SHORT_WEEKDAYS[match.group(1)]
        candidates.append((match.start(), match.end(), _next_weekday(today, target)))
    for match in _WEEKEND_RE.finditer(text):
        days = None if today is None else (5 - today.weekday()) % 7
        candidates.append((match.start(), match.end(), _shift(today, days)))
    for match in _THIS_PART_RE.finditer(text):
        candidates.append((match.start(), match.end(), today))
    for match in _IN_A_WEEK_RE.finditer(text):
        candidates.append((match.start(), match.end(), _shift(today, 7)))
    for match in _ORDINAL_RE.finditer(text):
        number = int(match.group(1) or match.group(2))
        if 1 <= number <= 31:
            candidates.append((match.start(), match.end(), _next_numbered_day(today, number)))
    for match in _WEEKDAY_ORDINAL_RE.finditer(text):
        name, number = match.group(1), int(match.group(2))
        weekday = WEEKDAYS.index(name) if name in WEEKDAYS else _SHORT_WEEKDAYS[name]
        if 1 <= number <= 31:
            found = _next_numbered_day(today, number, weekday)
            candidates.append((match.start(), match.end(), found))
    return candidates


def _next_weekday(today: date | None, weekday: int) -> date | None:
    return (
        None if today is None else today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    )


def _next_numbered_day(today: date | None, number: int, weekday: int | None = None) -> date | None:
    """The next day numbered `number`, today included; on `weekday` when one within a year is."""
    if today is None:
        return None
    first: date | None = None
    year, month = today.year, today.month
    for _ in range(13):
        day = safe_date(year, month, number)
        if day is not None and day >= today:
            first = first or day
            if weekday is None or day.weekday() == weekday:
                return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return first


def _shift(today: date | None, days: int | None) -> date | None:
    return None if today is None or days is None else today + timedelta(days=days)


def _month_day(today: date | None, month: int, day: int, year: int | None) -> date | None:
    """Resolves a month and day to the next such date on or after today unless a year is given."""
    if year is not None:
        return safe_date(year, month, day)
    if today is None:
        return None
    candidate = safe_date(today.year, month, day)
    if candidate is None or candidate < today:
        candidate = safe_date(today.year + 1, month, day)
    return candidate


# --- times -------------------------------------------------------------------------------------

PARTS_OF_DAY: dict[str, tuple[str, str]] = {
    "morning": ("00:00", "12:00"),
    "afternoon": ("12:00", "17:00"),
    "evening": ("17:00", "24:00"),
}
"""Start times each part of the day covers, [from, to)."""
_PART_OF_DAY_RE = re.compile(r"\b(morning|afternoon|evening|tonight)\b")


def find_part_of_day(text: str) -> str | None:
    """The part of the day named ("tomorrow morning", "this afternoon"), if any."""
    match = _PART_OF_DAY_RE.search(text)
    if match is None:
        return None
    return "evening" if match.group(1) == "tonight" else match.group(1)


_CLOCK_RE = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*(am|pm)?\b")
_MERIDIEM_RE = re.compile(r"\b(\d{1,2})\s*(am|pm)\b")
_NOON_RE = re.compile(r"\b(noon|midday)\b")
_BARE_HOUR_RE = re.compile(
    r"\b(?:at|@|around|about|make it|say|by|for)\s+(\d{1,2})(?:\s*o'?clock|ish)?\b(?![:./-]\d)"
    r"(?!\s*(?:am|pm|st|nd|rd|th|days?|weeks?|people|of)\b)"
)
_HALF_PAST_RE = re.compile(r"\bhalf\s+past\s+(\d{1,2})\b")
_OCLOCK_RE = re.compile(r"\b(\d{1,2})\s*o'?clock\b")
_ONLY_HOUR_RE = re.compile(r"^\W*(?:at\s+)?(\d{1,2})\W*(?:please)?\W*$")


def find_time(text: str) -> Found | None:
    """Finds the first clock time in text.

    Args:
        text: Normalized customer text.

    Returns:
        The time as HH:MM (24-hour) with its span, or None.
    """
    candidates: list[tuple[int, int, str | None]] = []
    for match in _CLOCK_RE.finditer(text):
        hhmm = _to_hhmm(int(match.group(1)), int(match.group(2)), match.group(3))
        candidates.append((match.start(), match.end(), hhmm))
    for match in _MERIDIEM_RE.finditer(text):
        candidates.append((match.start(), match.end(), _to_hhmm(int(match.group(1)), 0, match[2])))
    for match in _NOON_RE.finditer(text):
        candidates.append((match.start(), match.end(), "12:00"))
    for regex in (_BARE_HOUR_RE, _OCLOCK_RE, _ONLY_HOUR_RE):
        for match in regex.finditer(text):
            candidates.append((match.start(), match.end(), _bare_hour(int(match.group(1)))))
    for match in _HALF_PAST_RE.finditer(text):
        hhmm = _bare_hour(int(match.group(1)))
        candidates.append((match.start(), match.end(), hhmm and f"{hhmm[:2]}:30"))
    valid = [c for c in candidates if c[2] is not None]
    if not valid:
        return None
    start, end, hhmm = min(valid, key=lambda c: (c[0], -c[1]))
    return Found(hhmm or "", start, end)


def _to_hhmm(hour: int, minute: int, meridiem: str | None) -> str | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _bare_hour(hour: int) -> str | None:
    """Reads an hour without am/pm in showroom terms: 1 to 7 mean the afternoon."""
    if 1 <= hour <= 7:
        hour += 12
    return _to_hhmm(hour, 0, None)
