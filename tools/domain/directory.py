"""The SuperCar dealership directory shipped with the code, and how free text resolves to it.

The directory is static data: dealerships change rarely and the tools must work offline, so it
lives here rather than in a database. Every lookup the model can trigger goes through the helpers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from zoneinfo import ZoneInfo

from langchain_core.tools import ToolException

SUPERCAR_GT = "SuperCar GT"
SUPERCAR_ROADSTER = "SuperCar Roadster"
SUPERCAR_VOLT = "SuperCar Volt"
SUPERCAR_TERRA = "SuperCar Terra"
SUPERCAR_APEX = "SuperCar Apex"

CAR_MODELS: tuple[str, ...] = (
    SUPERCAR_GT,
    SUPERCAR_ROADSTER,
    SUPERCAR_VOLT,
    SUPERCAR_TERRA,
    SUPERCAR_APEX,
)
"""The whole SuperCar lineup; each dealership offers a subset for test drives."""

WEEKDAY_NAMES: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
WEEKDAY_ABBREVIATIONS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class OpeningHours:
    """Opening and closing time of one day, in the dealership's local time."""

    opens: time
    closes: time

    def as_range(self) -> str:
        """Return the zero-padded range, e.g. "09:00-19:00"."""
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"

    def as_short_range(self) -> str:
        """Return the range as people write it, e.g. "9:00-19:00"."""
        return f"{_short_time(self.opens)}-{_short_time(self.closes)}"


def _short_time(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def _hours(opens: str, closes: str) -> OpeningHours:
    return OpeningHours(time.fromisoformat(opens), time.fromisoformat(closes))


WeekHours = tuple[OpeningHours | None, ...]
"""Opening hours Monday to Sunday (seven entries); None means closed that day."""


@dataclass(frozen=True)
class Dealership:
    """One SuperCar dealership.

    Attributes:
        id: Short lowercase slug the tools and the model use, e.g. "miami".
        name: Display name, e.g. "SuperCar Miami".
        street: Street address without city, e.g. "1200 Biscayne Blvd".
        city: City name.
        state: Two-letter US state code.
        state_name: Full state name, so "Texas" resolves too.
        postal_code: ZIP code.
        phone: Phone number written with digits, spaces and + ( ) - only.
        timezone: IANA timezone the opening hours and slots are expressed in.
        week_hours: Opening hours Monday to Sunday; None means closed.
        slot_minutes: Length of one test-drive slot; slots start on this grid from opening time.
        models: Models this dealership offers for test drives, in lineup order.
        aliases: Extra names people use for the place, e.g. "nyc".
    """

    id: str
    name: str
    street: str
    city: str
    state: str
    state_name: str
    postal_code: str
    phone: str
    timezone: str
    week_hours: WeekHours
    slot_minutes: int
    models: tuple[str, ...]
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.week_hours) != len(WEEKDAY_NAMES):
            raise ValueError(f"{self.id}: week_hours needs one entry per weekday")
        if not re.fullmatch(r"[0-9 +()-]+", self.phone):
            raise ValueError(f"{self.id}: phone may hold only digits, spaces and + ( ) -")

    @property
    def address(self) -> str:
        """Return the one-line postal address, e.g. "1200 Biscayne Blvd, Miami, FL 33132"."""
        return f"{self.street}, {self.city}, {self.state} {self.postal_code}"

    @cached_property
    def zone(self) -> ZoneInfo:
        """Return the dealership's timezone."""
        return ZoneInfo(self.timezone)

    def hours_on(self, weekday: int) -> OpeningHours | None:
        """Return the opening hours of a weekday (0 = Monday), or None when closed."""
        return self.week_hours[weekday]

    def hours_by_day(self) -> dict[str, str]:
        """Return weekday name -> "HH:MM-HH:MM" or "closed", Monday first."""
        return {
            day: hours.as_range() if hours else "closed"
            for day, hours in zip(WEEKDAY_NAMES, self.week_hours, strict=True)
        }

    def hours_summary(self) -> str:
        """Return the hours compactly, e.g. "Mon-Sat 9:00-19:00, Sun closed".

        Consecutive days with equal hours share one range. The text holds no period because the
        address card reads the hours up to the first period.
        """
        parts: list[str] = []
        start = 0
        for index in range(1, len(self.week_hours) + 1):
            if index < len(self.week_hours) and self.week_hours[index] == self.week_hours[start]:
                continue
            days = WEEKDAY_ABBREVIATIONS[start]
            if index - 1 > start:
                days = f"{days}-{WEEKDAY_ABBREVIATIONS[index - 1]}"
            hours = self.week_hours[start]
            parts.append(f"{days} {hours.as_short_range() if hours else 'closed'}")
            start = index
        return ", ".join(parts)

    def card(self) -> str:
        """Return the address card text of the wire contract, also usable as a map query."""
        return f"{self.name}, {self.address}. Phone: {self.phone}. Hours: {self.hours_summary()}"

    def open_days(self) -> str:
        """Return the days it opens, e.g. "Mon-Sat 9:00-19:00", leaving closed days out."""
        return ", ".join(part for part in self.hours_summary().split(", ") if "closed" not in part)


DEALERSHIPS: tuple[Dealership, ...] = (
    Dealership(
        id="miami",
        name="SuperCar Miami",
        street="1200 Biscayne Blvd",
        city="Miami",
        state="FL",
        state_name="Florida",
        postal_code="33132",
        phone="+1 (305) 555-0142",
        timezone="America/New_York",
        week_hours=(*(_hours("09:00", "19:00"),) * 6, None),
        slot_minutes=60,
        models=(SUPERCAR_GT, SUPERCAR_ROADSTER, SUPERCAR_VOLT, SUPERCAR_TERRA),
        aliases=("south florida",),
    ),
    Dealership(
        id="los-angeles",
        name="SuperCar Los Angeles",
        street="5900 Wilshire Blvd",
        city="Los Angeles",
        state="CA",
        state_name="California",
        postal_code="90036",
        phone="+1 (213) 555-0178",
        timezone="America/Los_Angeles",
        week_hours=(*(_hours("10:00", "20:00"),) * 5, *(_hours("10:00", "18:00"),) * 2),
        slot_minutes=30,
        models=(SUPERCAR_GT, SUPERCAR_ROADSTER, SUPERCAR_VOLT, SUPERCAR_APEX),
        aliases=("la", "l a", "hollywood"),
    ),
    Dealership(
        id="new-york",
        name="SuperCar New York",
        street="625 W 57th St",
        city="New York",
        state="NY",
        state_name="New York",
        postal_code="10019",
        phone="+1 (212) 555-0193",
        timezone="America/New_York",
        week_hours=(*(_hours("09:00", "20:00"),) * 5, _hours("10:00", "18:00"), None),
        slot_minutes=60,
        models=(SUPERCAR_GT, SUPERCAR_VOLT, SUPERCAR_TERRA, SUPERCAR_APEX),
        aliases=("nyc", "new york city", "manhattan"),
    ),
    Dealership(
        id="chicago",
        name="SuperCar Chicago",
        street="1450 N Clybourn Ave",
        city="Chicago",
        state="IL",
        state_name="Illinois",
        postal_code="60642",
        phone="+1 (312) 555-0116",
        timezone="America/Chicago",
        week_hours=(*(_hours("09:00", "19:00"),) * 5, _hours("09:00", "17:00"), None),
        slot_minutes=60,
        models=(SUPERCAR_GT, SUPERCAR_VOLT, SUPERCAR_TERRA),
        aliases=("chi town",),
    ),
    Dealership(
        id="dallas",
        name="SuperCar Dallas",
        street="5300 Lemmon Ave",
        city="Dallas",
        state="TX",
        state_name="Texas",
        postal_code="75209",
        phone="+1 (214) 555-0167",
        timezone="America/Chicago",
        week_hours=(*(_hours("09:00", "20:00"),) * 6, _hours("12:00", "18:00")),
        slot_minutes=60,
        models=(SUPERCAR_GT, SUPERCAR_ROADSTER, SUPERCAR_TERRA),
        aliases=("dfw", "dallas fort worth"),
    ),
    Dealership(
        id="seattle",
        name="SuperCar Seattle",
        street="1100 Westlake Ave N",
        city="Seattle",
        state="WA",
        state_name="Washington",
        postal_code="98109",
        phone="+1 (206) 555-0124",
        timezone="America/Los_Angeles",
        week_hours=(None, *(_hours("10:00", "19:00"),) * 5, _hours("11:00", "17:00")),
        slot_minutes=30,
        models=(SUPERCAR_GT, SUPERCAR_VOLT, SUPERCAR_TERRA),
    ),
    Dealership(
        id="denver",
        name="SuperCar Denver",
        street="1600 Broadway",
        city="Denver",
        state="CO",
        state_name="Colorado",
        postal_code="80202",
        phone="+1 (303) 555-0155",
        timezone="America/Denver",
        week_hours=(*(_hours("09:00", "18:00"),) * 5, _hours("10:00", "16:00"), None),
        slot_minutes=60,
        models=(SUPERCAR_GT, SUPERCAR_VOLT, SUPERCAR_TERRA),
    ),
    Dealership(
        id="san-francisco",
        name="SuperCar San Francisco",
        street="1000 Van Ness Ave",
        city="San Francisco",
        state="CA",
        state_name="California",
        postal_code="94109",
        phone="+1 (415) 555-0131",
        timezone="America/Los_Angeles",
        week_hours=(*(_hours("10:00", "18:00"),) * 7,),
        slot_minutes=30,
        models=(SUPERCAR_ROADSTER, SUPERCAR_VOLT, SUPERCAR_APEX),
        aliases=("sf", "san fran", "bay area"),
    ),
)
"""All dealerships, in the order they are listed to the model and the customer."""

DEALERSHIPS_BY_ID: dict[str, Dealership] = {dealership.id: dealership for dealership in DEALERSHIPS}


def _fold(text: str) -> str:
    """Lowercase, strip accents, and turn every run of non-alphanumerics into one space."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.casefold()).strip()


_NOISE_WORDS = re.compile(r"^(?:the )?(?:super ?car )?|(?: (?:dealership|dealer|store|showroom))$")


def _lookup_keys(dealership: Dealership) -> frozenset[str]:
    city, state = _fold(dealership.city), _fold(dealership.state)
    return frozenset(
        {
            _fold(dealership.id),
            _fold(dealership.name),
            city,
            f"{city} {state}",
            f"{city} {_fold(dealership.state_name)}",
            state,
            _fold(dealership.state_name),
            *(_fold(alias) for alias in dealership.aliases),
        }
    )


_KEYS: dict[str, frozenset[str]] = {d.id: _lookup_keys(d) for d in DEALERSHIPS}


def match_dealerships(text: str) -> list[Dealership]:
    """Return every dealership that an id, city, name, state or known alias refers to.

    Matching ignores case, accents, punctuation, a leading "SuperCar" and a trailing "dealership".

    Args:
        text: What the model or customer wrote, e.g. "Los Angeles", "supercar-miami", "TX".

    Returns:
        The matching dealerships in directory order; empty when nothing matches.
    """
    folded = _fold(text)
    candidates = {folded, _NOISE_WORDS.sub("", folded).strip()} - {""}
    return [d for d in DEALERSHIPS if candidates & _KEYS[d.id]]


def valid_choices() -> str:
    """Return the valid dealership ids with their cities, for error messages."""
    return ", ".join(f"{d.id} ({d.city})" for d in DEALERSHIPS)


def resolve_dealership(text: str) -> Dealership:
    """Resolve an id, city or name to exactly one dealership.

    Args:
        text: A dealership id ("miami"), city ("Los Angeles") or name ("SuperCar Dallas"),
            in any case.

    Returns:
        The one dealership the text refers to.

    Raises:
        ToolException: When nothing or more than one dealership matches; the message lists the
            valid choices.
    """
    if not text or not text.strip():
        raise ToolException(f"No dealership given. Valid dealership ids: {valid_choices()}.")
    matches = match_dealerships(text)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ToolException(
            f"There is no SuperCar dealership called '{text.strip()}'. "
            f"Valid dealership ids: {valid_choices()}."
        )
    options = ", ".join(f"{d.id} ({d.name})" for d in matches)
    raise ToolException(
        f"'{text.strip()}' matches several dealerships: {options}. Use one of these ids."
    )


def _model_key(text: str) -> str:
    return re.sub(r"^supercar", "", re.sub(r"[^a-z0-9]", "", _fold(text)))


_MODELS_BY_KEY: dict[str, str] = {_model_key(model): model for model in CAR_MODELS}


def resolve_car_model(text: str, dealership: Dealership) -> str:
    """Match a model name loosely against a dealership's test-drive lineup.

    Case, spacing, hyphens and the "SuperCar" prefix do not matter: "gt", "Super Car GT" and
    "supercar-gt" all mean "SuperCar GT".

    Args:
        text: The model as written.
        dealership: The dealership whose lineup applies.

    Returns:
        The canonical model name, e.g. "SuperCar GT".

    Raises:
        ToolException: When the model is unknown or not offered at that dealership; the message
            lists the models it offers.
    """
    lineup = ", ".join(dealership.models)
    model = _MODELS_BY_KEY.get(_model_key(text))
    if model is None:
        raise ToolException(
            f"'{text.strip()}' is not a SuperCar model. "
            f"{dealership.name} offers test drives of: {lineup}."
        )
    if model not in dealership.models:
        raise ToolException(
            f"{model} is not available for test drives at {dealership.name}. "
            f"Models offered there: {lineup}."
        )
    return model


def dealerships_offering(model: str) -> list[Dealership]:
    """Return the dealerships that offer test drives of a canonical model name."""
    return [d for d in DEALERSHIPS if model in d.models]


def directory_prompt_lines(dealerships: Iterable[Dealership] = DEALERSHIPS) -> list[str]:
    """Return the directory lines of the system prompt, exactly as the shared spec writes them.

    Args:
        dealerships: The dealerships to list; all of them unless given.

    Returns:
        "Dealerships (id: name, city):", one "- <id>: <name>, <city>" line each, then
        "Car models: <model>, <model>, ...".
    """
    lines = ["Dealerships (id: name, city):"]
    lines.extend(f"- {d.id}: {d.name}, {d.city}" for d in dealerships)
    lines.append(f"Car models: {', '.join(CAR_MODELS)}")
    return lines


def lineup_prompt_lines(dealerships: Iterable[Dealership] = DEALERSHIPS) -> list[str]:
    """Return the system prompt lines saying which models each dealership offers for test drives.

    Args:
        dealerships: The dealerships to list; all of them unless given.

    Returns:
        A heading, then one "<id> offers: <model>, <model>" line each.
    """
    lines = ["Test drives each dealership offers (nothing else is known about the cars):"]
    lines.extend(f"{d.id} offers: {', '.join(d.models)}" for d in dealerships)
    return lines


def cities(dealerships: Sequence[Dealership] = DEALERSHIPS) -> str:
    """Return the distinct cities with a dealership, comma separated, for messages."""
    return ", ".join(dict.fromkeys(d.city for d in dealerships))
