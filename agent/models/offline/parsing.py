"""How the offline chat model reads plain English: the slots of a request.

Kept apart from the dialogue logic so each rule (places, models, ids) stays small, deterministic
and testable on its own; dates and times live in `dates`, intents in `intents`, spelling in
`spelling`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.models.offline.dates import (
    ISO_DATE_RE,
    MONTHS,
    WEEKDAYS,
    Found,
    find_date,
    find_part_of_day,
    find_time,
)
from agent.models.offline.facts import Facts
from agent.models.offline.spelling import fix_spelling
from tools.domain.directory import Dealership

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
    + list(MONTHS)
)


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
    part_of_day: str | None = None
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
            part_of_day=newer.part_of_day or (None if dated or newer.time else self.part_of_day),
            car_model=newer.car_model or self.car_model,
            confirmation_id=newer.confirmation_id or self.confirmation_id,
        )


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


def _blank(text: str, found: Iterable[Found]) -> str:
    for item in found:
        text = text[: item.start] + " " * (item.end - item.start) + text[item.end :]
    return text


# --- car models, confirmation ids, places ------------------------------------------------------

# Without a model list, "SuperCar X" is a model unless it reads as a place ("at SuperCar Dallas").
_BRAND_MODEL_RE = re.compile(
    rf"(?<!\bat )(?<!\bin )(?<!\bto )(?<!\bis )(?<!\bnear )\b{_BRAND}[\s-]+([a-z][a-z0-9]*)\b"
)
_CONFIRMATION_ID_RE = re.compile(r"\b([a-z]{1,4}-[a-z0-9]{3,16})\b")


def _find_car_model(text: str, car_models: tuple[str, ...]) -> Found | None:
    """Finds a car model, tolerant of case and spacing ("supercar gt", "SuperCarGT", "the GT")."""
    found: list[Found] = []
    for model in car_models:
        key = words(model).replace(f" {_BRAND} ", " ").strip() or words(model).strip()
        squashed = re.sub(r"[^a-z0-9]", "", model.lower())
        flexible_key = r"[\s-]*".join(re.escape(part) for part in key.split())
        for pattern in (rf"\b(?:{_BRAND}[\s-]*)?{flexible_key}\b", rf"\b{re.escape(squashed)}\b"):
            if match := re.search(pattern, text.replace("super car", "supercar ")):
                found.append(Found(model, match.start(), match.end()))
    if not found and not car_models:
        found = [
            Found(f"SuperCar {_model_word(m.group(1))}", m.start(), m.end())
            for m in _BRAND_MODEL_RE.finditer(text)
        ]
    return min(found, key=lambda f: (f.start, -f.end), default=None)


def _model_word(word: str) -> str:
    return word.upper() if len(word) <= 3 else word.title()


def _find_confirmation_id(text: str, dealership_ids: Iterable[str]) -> Found | None:
    known = set(dealership_ids)
    for match in _CONFIRMATION_ID_RE.finditer(text):
        value = match.group(1)
        prefix, _, rest = value.partition("-")
        if value in known or not (prefix == "sc" or re.search(r"\d", rest)):
            continue
        if ISO_DATE_RE.fullmatch(value):
            continue
        return Found(value.upper(), match.start(), match.end())
    return None


def _dealership_names(dealership: Dealership) -> tuple[set[str], set[str]]:
    """(names, state names) a dealership goes by, as padded word strings."""
    names = {dealership.id, dealership.name, dealership.city, *dealership.aliases}
    return {words(n) for n in names}, {words(dealership.state_name)}


def _find_directory_dealerships(text: str, facts: Facts) -> list[Found]:
    """Finds dealerships of the directory named by id, name, city, alias or state, in order.

    A state names every dealership in it ("the California dealerships"); its hits carry the
    state's name as value prefix "state:" so weather is not asked for a state.
    """
    padded = words(text)
    found: list[Found] = []
    for dealership in facts.dealerships:
        names, states = _dealership_names(dealership)
        hits = [(padded.find(a), len(a)) for a in names if a.strip() and a in padded]
        if hits:
            start, length = min(hits)
            found.append(Found(dealership.id, start, start + length))
            continue
        state_hits = [(padded.find(a), len(a)) for a in states if a.strip() and a in padded]
        if state_hits:
            start, length = min(state_hits)
            found.append(Found(f"state:{dealership.id}", start, start + length))
    return sorted(found, key=lambda f: f.start)


def _place_phrases(text: str, prepositions: str) -> list[Found]:
    """Finds the words after a preposition that could name a place ("in new york tomorrow")."""
    found: list[Found] = []
    for match in re.finditer(rf"\b(?:{prepositions})\s+(?:the\s+)?", text):
        phrase = _leading_place_words(text[match.end() :])
        if phrase:
            found.append(Found(phrase, match.end(), match.end() + len(phrase)))
    return found


_LETTER = r"[^\W\d_]"
"""Any letter, accented ones included ("são paulo", "zürich"): a word character, no digit or _."""


def _leading_place_words(text: str) -> str:
    taken: list[str] = []
    text = re.sub(rf"^{_BRAND}\s+", "", text)
    for word in re.findall(rf"{_LETTER}(?:{_LETTER}|['.-])*|\S", text)[:3]:
        word = word.rstrip(".")
        if not re.fullmatch(rf"{_LETTER}(?:{_LETTER}|['-])*", word) or word in _PLACE_STOPWORDS:
            break
        taken.append(word)
    return " ".join(taken)


def _named_dealership_phrases(text: str) -> list[Found]:
    """Finds explicit dealership names: "the X dealership", "SuperCar X", "where is X"."""
    found: list[Found] = []
    for match in re.finditer(r"\b((?:[a-z][a-z'-]*\s+){1,2})(?:dealership|showroom|store)\b", text):
        kept = [w for w in match.group(1).split() if w not in _PLACE_STOPWORDS]
        if kept and match.group(1).split()[-1] == kept[-1]:
            found.append(Found(" ".join(kept), match.start(), match.end()))
    for match in re.finditer(rf"\b{_BRAND}\s+", text):
        if phrase := _leading_place_words(text[match.end() :]):
            found.append(Found(phrase, match.start(), match.end() + len(phrase)))
    found.extend(_place_phrases(text, r"where is|where's|where are"))
    return sorted(found, key=lambda f: f.start)


def slug(text: str) -> str:
    """Turns a place name into a dealership-id-like slug ("Los Angeles" -> "los-angeles")."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def read_text(text: str, facts: Facts) -> str:
    """Customer text as the rules read it: normalized, abbreviations expanded, typos corrected."""
    return fix_spelling(normalize(text), facts)


def extract_slots(text: str, facts: Facts) -> Slots:
    """Pulls every slot a request can carry out of one customer text.

    Args:
        text: The customer's words.
        facts: The directory, lineup and today used to resolve places, models and dates.

    Returns:
        The slots found; a date named relative to an unknown today sets `date_needs_today`.
    """
    text = read_text(text, facts)
    directory_ids = [d.id for d in facts.dealerships]
    confirmation = _find_confirmation_id(text, directory_ids)
    text = _blank(text, [confirmation] if confirmation else [])
    found_date, needs_today = find_date(text, facts.today)
    model = _find_car_model(text, facts.car_models)
    blanked = _blank(text, [f for f in (found_date, model) if f])
    found_time = find_time(blanked)
    blanked = _blank(blanked, [found_time] if found_time else [])

    dealership_ids, unknown, cities, area = _places(blanked, facts)
    local_today = facts.today_at(dealership_ids[0]) if dealership_ids else facts.today
    if found_date and local_today != facts.today:  # dates are the dealership's local days
        found_date, needs_today = find_date(text, local_today)
    return Slots(
        dealership_ids=dealership_ids,
        unknown_dealership=unknown,
        cities=cities,
        area=area,
        date=(found_date.value or None) if found_date else None,
        date_needs_today=needs_today,
        time=found_time.value if found_time else None,
        part_of_day=None if found_time else find_part_of_day(text),
        car_model=model.value if model else None,
        confirmation_id=confirmation.value if confirmation else None,
    )


def _places(
    text: str, facts: Facts
) -> tuple[tuple[str, ...], str | None, tuple[str, ...], str | None]:
    """Resolves (dealership ids, unknown dealership name, weather cities, list area)."""
    found = _find_directory_dealerships(text, facts)
    known = [f for f in found if not f.value.startswith("state:")]
    by_state = [
        Found(f.value.removeprefix("state:"), f.start, f.end) for f in found if f not in known
    ]
    known_aliases = {
        words(alias).strip()
        for d in facts.dealerships
        for alias in (
            d.id,
            d.name,
            d.city,
            d.state_name,
            *d.aliases,
            d.name.lower().replace(_BRAND, ""),
        )
    }
    named = _named_dealership_phrases(text)
    loose = _place_phrases(text, r"in|at|for|near|around")
    unknown_named = [f for f in named if words(f.value).strip() not in known_aliases]

    if facts.dealerships:
        ordered_ids = sorted([*known, *by_state], key=lambda f: f.start)
        dealership_ids = tuple(dict.fromkeys(f.value for f in ordered_ids))
        unknown = None if dealership_ids or not unknown_named else unknown_named[0].value.title()
    else:
        phrases = named or _place_phrases(text, r"at|in|of|to|near")
        dealership_ids = tuple(dict.fromkeys(slug(f.value) for f in phrases))
        unknown = None

    city_of = {d.id: d.city for d in facts.dealerships}
    cities = [Found(city_of[f.value], f.start, f.end) for f in known]
    cities += [f for f in loose if words(f.value).strip() not in known_aliases]
    state_of = {d.id: d.state_name for d in facts.dealerships}
    cities += [Found(state_of[f.value], f.start, f.end) for f in by_state]
    ordered = sorted(cities, key=lambda f: f.start)
    city_names = tuple(dict.fromkeys(_title_city(f.value) for f in ordered))
    area_phrases = [f for f in _place_phrases(text, r"in|near|around") if f.value]
    area = city_of[known[0].value] if known else None
    if area is None and area_phrases:
        area = _title_city(area_phrases[0].value)
    return dealership_ids, unknown, city_names, area


def _brandless(name: str) -> str:
    return name.lower().replace(_BRAND, "")


def _title_city(name: str) -> str:
    return name if any(c.isupper() for c in name) else name.title()
