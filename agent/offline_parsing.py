"""How the offline chat model understands plain English: prompt facts, intents and their slots.

Kept apart from the dialogue logic so each rule (dates, times, places, models, intents) stays
small, deterministic and testable on its own. Nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_SMALL_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(WEEKDAYS)
_BRAND = "supercar"

# Words that end a place phrase such as "in Los Angeles tomorrow": the phrase is what comes before.
_PLACE_STOPWORDS = frozenset(
    """today tomorrow tonight now this next on at in and or but right like weekend week please
    currently dealership dealerships showroom showrooms store location branch for with to of from
    my your our a an the test drive drives it is are be will would could can morning afternoon
    evening day days time times slot slots am pm there here me you us we i what how when where
    which that do does any some available availability free open book schedule weather forecast
    address directions hours phone appointment appointments booking bookings noon midday area
    near around city""".split()
    + list(WEEKDAYS)
    + list(_MONTHS)
)


@dataclass(frozen=True)
class Dealership:
    """One line of the dealership directory in the system prompt."""

    id: str
    name: str
    city: str


@dataclass(frozen=True)
class PromptFacts:
    """What the system prompt tells the model about the world; all optional."""

    today: date | None = None
    dealerships: tuple[Dealership, ...] = ()
    car_models: tuple[str, ...] = ()

    def dealership(self, dealership_id: str) -> Dealership | None:
        """Returns the directory entry with this id, if any."""
        return next((d for d in self.dealerships if d.id == dealership_id), None)


@dataclass(frozen=True)
class Slots:
    """The pieces of a request found in one text; empty fields were not mentioned."""

    dealership_ids: tuple[str, ...] = ()
    unknown_dealership: str | None = None
    cities: tuple[str, ...] = ()
    area: str | None = None
    date: str | None = None
    date_needs_today: bool = False
    time: str | None = None
    car_model: str | None = None
    confirmation_id: str | None = None

    def overlay(self, newer: Slots) -> Slots:
        """Returns these slots updated with every field that `newer` has."""
        dated = newer.date is not None or newer.date_needs_today
        return Slots(
            dealership_ids=newer.dealership_ids
            or (() if newer.unknown_dealership else self.dealership_ids),
            unknown_dealership=(
                newer.unknown_dealership
                if newer.unknown_dealership or newer.dealership_ids
                else self.unknown_dealership
            ),
            cities=newer.cities or self.cities,
            area=newer.area or self.area,
            date=newer.date if dated else self.date,
            date_needs_today=newer.date_needs_today if dated else self.date_needs_today,
            time=newer.time or self.time,
            car_model=newer.car_model or self.car_model,
            confirmation_id=newer.confirmation_id or self.confirmation_id,
        )


@dataclass(frozen=True)
class _Found:
    value: str
    start: int
    end: int


# --- prompt facts ------------------------------------------------------------------------------

_TODAY_RE = re.compile(r"Today is (\d{4}-\d{2}-\d{2})\b")
_DIRECTORY_HEADER_RE = re.compile(r"^\s*Dealerships\b.*:\s*$", re.IGNORECASE)
_DIRECTORY_LINE_RE = re.compile(r"^\s*-\s*([a-z0-9][a-z0-9-]*)\s*:\s*(.+?)\s*$")
_CAR_MODELS_RE = re.compile(r"^\s*Car models:\s*(.+?)\s*$", re.IGNORECASE)


def parse_prompt_facts(texts: Iterable[str]) -> PromptFacts:
    """Reads today's date, the dealership directory and the car models from system prompts.

    Args:
        texts: The text of each system message, in order.

    Returns:
        The facts found; missing lines leave their field empty.
    """
    today: date | None = None
    dealerships: list[Dealership] = []
    car_models: list[str] = []
    for text in texts:
        in_directory = False
        for line in text.splitlines():
            if match := _TODAY_RE.search(line):
                today = _safe_date(*(int(part) for part in match.group(1).split("-")))
            if _DIRECTORY_HEADER_RE.match(line):
                in_directory = True
                continue
            entry = _DIRECTORY_LINE_RE.match(line) if in_directory else None
            if entry:
                name, _, city = entry.group(2).rpartition(",")
                name, city = (name or city).strip(), city.strip()
                dealerships.append(Dealership(entry.group(1), name, city))
                continue
            in_directory = False
            if match := _CAR_MODELS_RE.match(line):
                car_models.extend(_split_car_models(match.group(1)))
    return PromptFacts(today, tuple(dealerships), tuple(dict.fromkeys(car_models)))


def _split_car_models(text: str) -> list[str]:
    text = re.sub(r"\([^)]*\)", " ", text).rstrip(". ")
    parts = re.split(r",|\band\b", text)
    return [" ".join(part.split()) for part in parts if part.strip()]


# --- text helpers ------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower-cases text and folds the spellings the rules do not care about."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"\ba\.m\.?", "am", text)
    text = re.sub(r"\bp\.m\.?", "pm", text)
    return " ".join(text.split())


def words(text: str) -> str:
    """Returns text as space-separated lowercase words, padded with a space on each side."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _blank(text: str, found: Iterable[_Found]) -> str:
    for item in found:
        text = text[: item.start] + " " * (item.end - item.start) + text[item.end :]
    return text


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --- dates -------------------------------------------------------------------------------------

_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
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
_RELATIVE_OFFSETS = {"today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2}


_Candidate = tuple[int, int, date | None]


def _find_date(text: str, today: date | None) -> tuple[_Found | None, bool]:
    """Finds the first date in text: (the date found, whether it needs an unknown today)."""
    candidates = _calendar_dates(text, today) + _relative_dates(text, today)
    if not candidates:
        return None, False
    start, end, found = min(candidates, key=lambda c: (c[0], -c[1]))
    if found is None:
        return _Found("", start, end), True
    return _Found(found.isoformat(), start, end), False


def _calendar_dates(text: str, today: date | None) -> list[_Candidate]:
    """Dates written with a month: 2026-11-26, 11/26, Nov 26, 26th of November."""
    candidates: list[_Candidate] = []
    for match in _ISO_DATE_RE.finditer(text):
        numbers = [int(g) for g in match.groups()]
        candidates.append((match.start(), match.end(), _safe_date(*numbers)))
    for regex, month_group, day_group in (
        (_SLASH_DATE_RE, 1, 2),
        (_MONTH_DAY_RE, 1, 2),
        (_DAY_MONTH_RE, 2, 1),
    ):
        for match in regex.finditer(text):
            month_text = match.group(month_group)
            month = _MONTHS.get(month_text) or int(month_text)
            day = int(match.group(day_group))
            year = int(match.group(3)) if match.group(3) else None
            if _safe_date(2000, month, day):  # 2000 is a leap year: any real month/day passes
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
        days = None if today is None else (target - today.weekday() - 1) % 7 + 1
        candidates.append((match.start(), match.end(), _shift(today, days)))
    return candidates


def _shift(today: date | None, days: int | None) -> date | None:
    return None if today is None or days is None else today + timedelta(days=days)


def _month_day(today: date | None, month: int, day: int, year: int | None) -> date | None:
    """Resolves a month and day to the next such date on or after today unless a year is given."""
    if year is not None:
        return _safe_date(year, month, day)
    if today is None:
        return None
    candidate = _safe_date(today.year, month, day)
    if candidate is None or candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


# --- times -------------------------------------------------------------------------------------

_CLOCK_RE = re.compile(r"\b(\d{1,2})[:.](\d{2})\s*(am|pm)?\b")
_MERIDIEM_RE = re.compile(r"\b(\d{1,2})\s*(am|pm)\b")
_NOON_RE = re.compile(r"\b(noon|midday)\b")
_BARE_HOUR_RE = re.compile(
    r"\b(?:at|@|around)\s+(\d{1,2})(?:\s*o'?clock)?\b(?![:./-]\d)(?!\s*(?:am|pm)\b)"
)
_OCLOCK_RE = re.compile(r"\b(\d{1,2})\s*o'?clock\b")
_ONLY_HOUR_RE = re.compile(r"^\W*(?:at\s+)?(\d{1,2})\W*(?:please)?\W*$")


def _find_time(text: str) -> _Found | None:
    """Finds the first clock time in text and returns it as HH:MM (24-hour)."""
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
    valid = [c for c in candidates if c[2] is not None]
    if not valid:
        return None
    start, end, hhmm = min(valid, key=lambda c: (c[0], -c[1]))
    return _Found(hhmm or "", start, end)


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


# --- car models, confirmation ids, places ------------------------------------------------------

# Without a model list, "SuperCar X" is a model unless it reads as a place ("at SuperCar Dallas").
_BRAND_MODEL_RE = re.compile(
    rf"(?<!\bat )(?<!\bin )(?<!\bto )(?<!\bis )(?<!\bnear )\b{_BRAND}[\s-]+([a-z][a-z0-9]*)\b"
)
_CONFIRMATION_ID_RE = re.compile(r"\b([a-z]{1,4}-[a-z0-9]{3,16})\b")


def _find_car_model(text: str, car_models: tuple[str, ...]) -> _Found | None:
    """Finds a car model, tolerant of case and spacing ("supercar gt", "SuperCarGT", "the GT")."""
    found: list[_Found] = []
    for model in car_models:
        key = words(model).replace(f" {_BRAND} ", " ").strip() or words(model).strip()
        squashed = re.sub(r"[^a-z0-9]", "", model.lower())
        flexible_key = r"[\s-]*".join(re.escape(part) for part in key.split())
        for pattern in (rf"\b(?:{_BRAND}[\s-]*)?{flexible_key}\b", rf"\b{re.escape(squashed)}\b"):
            if match := re.search(pattern, text.replace("super car", "supercar ")):
                found.append(_Found(model, match.start(), match.end()))
    if not found and not car_models:
        found = [
            _Found(f"SuperCar {_model_word(m.group(1))}", m.start(), m.end())
            for m in _BRAND_MODEL_RE.finditer(text)
        ]
    return min(found, key=lambda f: (f.start, -f.end), default=None)


def _model_word(word: str) -> str:
    return word.upper() if len(word) <= 3 else word.title()


def _find_confirmation_id(text: str, dealership_ids: Iterable[str]) -> _Found | None:
    known = set(dealership_ids)
    for match in _CONFIRMATION_ID_RE.finditer(text):
        value = match.group(1)
        prefix, _, rest = value.partition("-")
        if value in known or not (prefix == "sc" or re.search(r"\d", rest)):
            continue
        if _ISO_DATE_RE.fullmatch(value):
            continue
        return _Found(value.upper(), match.start(), match.end())
    return None


def _find_directory_dealerships(text: str, facts: PromptFacts) -> list[_Found]:
    """Finds dealerships of the directory named by id, name or city, in order of mention."""
    padded = words(text)
    found: list[_Found] = []
    for dealership in facts.dealerships:
        aliases = {words(dealership.id), words(dealership.name), words(dealership.city)}
        hits = [(padded.find(a), len(a)) for a in aliases if a.strip() and a in padded]
        if hits:
            start, length = min(hits)
            found.append(_Found(dealership.id, start, start + length))
    return sorted(found, key=lambda f: f.start)


def _place_phrases(text: str, prepositions: str) -> list[_Found]:
    """Finds the words after a preposition that could name a place ("in new york tomorrow")."""
    found: list[_Found] = []
    for match in re.finditer(rf"\b(?:{prepositions})\s+(?:the\s+)?", text):
        phrase = _leading_place_words(text[match.end() :])
        if phrase:
            found.append(_Found(phrase, match.end(), match.end() + len(phrase)))
    return found


def _leading_place_words(text: str) -> str:
    taken: list[str] = []
    text = re.sub(rf"^{_BRAND}\s+", "", text)
    for word in re.findall(r"[a-z][a-z'.-]*|\S", text)[:3]:
        word = word.rstrip(".")
        if not re.fullmatch(r"[a-z][a-z'-]*", word) or word in _PLACE_STOPWORDS:
            break
        taken.append(word)
    return " ".join(taken)


def _named_dealership_phrases(text: str) -> list[_Found]:
    """Finds explicit dealership names: "the X dealership", "SuperCar X", "where is X"."""
    found: list[_Found] = []
    for match in re.finditer(r"\b((?:[a-z][a-z'-]*\s+){1,2})(?:dealership|showroom|store)\b", text):
        kept = [w for w in match.group(1).split() if w not in _PLACE_STOPWORDS]
        if kept and match.group(1).split()[-1] == kept[-1]:
            found.append(_Found(" ".join(kept), match.start(), match.end()))
    for match in re.finditer(rf"\b{_BRAND}\s+", text):
        if phrase := _leading_place_words(text[match.end() :]):
            found.append(_Found(phrase, match.start(), match.end() + len(phrase)))
    found.extend(_place_phrases(text, r"where is|where's|where are"))
    return sorted(found, key=lambda f: f.start)


def slug(text: str) -> str:
    """Turns a place name into a dealership-id-like slug ("Los Angeles" -> "los-angeles")."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def extract_slots(text: str, facts: PromptFacts) -> Slots:
    """Pulls every slot a request can carry out of one customer text.

    Args:
        text: The customer's words.
        facts: The prompt facts used to resolve dates, dealerships and car models.

    Returns:
        The slots found; a date named relative to an unknown today sets `date_needs_today`.
    """
    text = normalize(text)
    directory_ids = [d.id for d in facts.dealerships]
    confirmation = _find_confirmation_id(text, directory_ids)
    text = _blank(text, [confirmation] if confirmation else [])
    found_date, needs_today = _find_date(text, facts.today)
    model = _find_car_model(text, facts.car_models)
    text = _blank(text, [f for f in (found_date, model) if f])
    found_time = _find_time(text)
    text = _blank(text, [found_time] if found_time else [])

    dealership_ids, unknown, cities, area = _places(text, facts)
    return Slots(
        dealership_ids=dealership_ids,
        unknown_dealership=unknown,
        cities=cities,
        area=area,
        date=(found_date.value or None) if found_date else None,
        date_needs_today=needs_today,
        time=found_time.value if found_time else None,
        car_model=model.value if model else None,
        confirmation_id=confirmation.value if confirmation else None,
    )


def _places(
    text: str, facts: PromptFacts
) -> tuple[tuple[str, ...], str | None, tuple[str, ...], str | None]:
    """Resolves (dealership ids, unknown dealership name, weather cities, list area)."""
    known = _find_directory_dealerships(text, facts)
    known_aliases = {
        words(alias).strip()
        for d in facts.dealerships
        for alias in (d.id, d.name, d.city, d.name.lower().replace(_BRAND, ""))
    }
    named = _named_dealership_phrases(text)
    loose = _place_phrases(text, r"in|at|for|near|around")
    unknown_named = [f for f in named if words(f.value).strip() not in known_aliases]

    if facts.dealerships:
        dealership_ids = tuple(dict.fromkeys(f.value for f in known))
        unknown = None if dealership_ids or not unknown_named else unknown_named[0].value.title()
    else:
        phrases = named or _place_phrases(text, r"at|in|of|to|near")
        dealership_ids = tuple(dict.fromkeys(slug(f.value) for f in phrases))
        unknown = None

    city_of = {d.id: d.city for d in facts.dealerships}
    cities = [_Found(city_of[f.value], f.start, f.end) for f in known]
    cities += [f for f in loose if words(f.value).strip() not in known_aliases]
    ordered = sorted(cities, key=lambda f: f.start)
    city_names = tuple(dict.fromkeys(_title_city(f.value) for f in ordered))
    area_phrases = [f for f in _place_phrases(text, r"in|near|around") if f.value]
    area = city_of[known[0].value] if known else None
    if area is None and area_phrases:
        area = _title_city(area_phrases[0].value)
    return dealership_ids, unknown, city_names, area


def _title_city(name: str) -> str:
    return name if any(c.isupper() for c in name) else name.title()


# --- intents --------------------------------------------------------------------------------------


class Intent(Enum):
    """What a customer can ask for; each value is the tool that serves it."""

    WEATHER = "get_weather"
    ADDRESS = "get_dealership_address"
    AVAILABILITY = "check_appointment_availability"
    BOOKING = "schedule_appointment"
    LIST_DEALERSHIPS = "list_dealerships"
    MY_APPOINTMENTS = "list_my_appointments"
    CANCEL = "cancel_appointment"


# The intent table: the cue words of each request (on normalized text). `_segment_intents` decides
# between overlapping cues, e.g. "book" with "free" but no time is a question about free times.
_CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "cancel": r"\b(?:cancel\w*|call off)\b",
        "book": r"\b(?:book|schedule|reserve|sign me up)\b|\bmake\s+(?:an?\s+)?"
        r"(?:appointment|booking|reservation)\b|\bset up\b.*\b(?:test[\s-]?drive|appointment)\b",
        "mine": r"\bmy\s+(?:upcoming\s+|current\s+|existing\s+|next\s+)?(?:appointments?|"
        r"bookings?|reservations?|test[\s-]?drives?)\b|\b(?:have|did)\s+i\s+(?:booked|"
        r"book|scheduled)\b|\bdo i have\s+(?:any\s+)?(?:appointments?|bookings?|test)\b",
        "address": r"\b(?:address|directions?|located|location|hours|phone|contact)\b|"
        r"\b(?:open(?:ing)?|close[sd]?|closing)\b(?!\s+(?:slots?|times?))|\bwhere\s+(?:is|are)\b"
        r"|\bwhere's\b|\bhow\s+(?:do|can)\s+i\s+get\s+to\b",
        "list": r"\b(?:dealerships|showrooms|locations|stores|branches)\b|\b(?:which|what|any)\s+"
        r"(?:dealership|showroom|location|store)\b|\b(?:is there|do you have)\s+(?:a|any)\s+"
        r"(?:dealership|showroom|store)\b",
        "free": r"\b(?:availab\w*|free|slots?|openings?|open\s+(?:slots?|times?))\b|\bwhen\s+can"
        r"\s+i\b|\b(?:what|which)\s+times?\b",
        "test_drive": r"\btest[\s-]?drive\b|\btestdrive\b|\bappointment\b",
        "weather": r"\b(?:weather|forecast|temperature|rain\w*|snow\w*|sunny|umbrella)\b",
    }.items()
}
_SEGMENT_SPLIT = re.compile(r"\s*(?:[;!?]|\.(?:\s|$)|,|\band\b|\balso\b|\bthen\b|\bplus\b)\s*")


def _segment_intents(segment: str, facts: PromptFacts) -> list[Intent]:
    """Decides what one clause asks for; weather can ride along with any other request."""
    cues = {name: match.start() for name, p in _CUES.items() if (match := p.search(segment))}
    found = [(cues["weather"], Intent.WEATHER)] if "weather" in cues else []
    if primary := _primary_intent(set(cues), segment, facts):
        found.append((min(cues.values()), primary))
    return [intent for _, intent in sorted(found, key=lambda item: item[0])]


def _primary_intent(cues: set[str], segment: str, facts: PromptFacts) -> Intent | None:
    """Settles overlapping cues, strongest first ("cancel my booking" is not a booking)."""
    if "cancel" in cues:
        return Intent.CANCEL
    if "book" in cues:
        # "Can I book a test drive? Which times are free?" asks for the free times.
        has_time = extract_slots(segment, facts).time is not None
        return Intent.AVAILABILITY if "free" in cues and not has_time else Intent.BOOKING
    if "mine" in cues:
        return Intent.MY_APPOINTMENTS
    if "address" in cues or "list" in cues:
        # "where are your dealerships" lists them; "where is the Miami dealership" is one address.
        slots = extract_slots(segment, facts)
        specific = bool(slots.dealership_ids or slots.unknown_dealership)
        wants_address = "address" in cues and (specific or "list" not in cues)
        return Intent.ADDRESS if wants_address else Intent.LIST_DEALERSHIPS
    if "free" in cues:
        return Intent.AVAILABILITY
    if "test_drive" in cues and "weather" not in cues:
        return Intent.BOOKING
    return None


def understand(text: str, facts: PromptFacts) -> list[tuple[Intent, Slots]]:
    """Splits a message into requests, each with the slots of its own clauses.

    Clauses without a cue ("and Dallas", "tomorrow at 10") belong to the request before them.

    Args:
        text: The customer's message.
        facts: The prompt facts.

    Returns:
        (intent, slots) pairs in the order the customer asked.
    """
    segments = [s for s in _SEGMENT_SPLIT.split(normalize(text)) if s and s.strip()]
    groups: list[tuple[list[Intent], list[str]]] = []
    leading: list[str] = []
    for segment in segments:
        intents = _segment_intents(segment, facts)
        if intents:
            groups.append((intents, [*leading, segment]))
            leading = []
        elif groups:
            groups[-1][1].append(segment)
        else:
            leading.append(segment)
    clauses: dict[Intent, list[str]] = {}
    for intents, group in groups:
        for intent in intents:
            clauses.setdefault(intent, []).extend(group)
    return [(intent, extract_slots(" ".join(group), facts)) for intent, group in clauses.items()]
