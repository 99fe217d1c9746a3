"""What the offline model says before it can call a tool: questions for missing details, small talk.

Questions name every missing detail at once with the choices or an example. Small talk is a table
(one row per kind of message, with an example a test checks): each reply is short and specific,
never quotes prices, and offers what Lex can do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from agent.models.offline.facts import Facts
from agent.models.offline.parsing import Slots, normalize
from agent.models.offline.phrasing import (
    OFFER_TEST_DRIVE,
    OFFER_THERE,
    dealership_label,
    human_date,
    join,
    we_have,
)

_MONEY = re.compile(
    r"\b(?:price\w*|cost\w*|how much|financ\w*|loan\w*|leas\w*|payments?|monthly|interest|apr|"
    r"discounts?|deals?|offers?|trade[\s-]?in|insurance|msrp|credit|cheap\w*|expensive)\b"
)


def mentions_money(text: str) -> bool:
    """Whether a message asks about prices, financing or offers, which small talk declines."""
    return bool(_MONEY.search(normalize(text)))


def has_date(slots: Slots) -> bool:
    """Whether the slots carry a resolved date, not one relative to an unknown today."""
    return slots.date is not None and not slots.date_needs_today


def unknown_dealership_question(name: str, facts: Facts) -> str:
    """Says a named dealership is not in the directory and asks which one is meant."""
    choices = f" {we_have(facts)}" if facts.dealerships else ""
    return f"I couldn't find a SuperCar dealership in {name}.{choices} Which one would you like?"


def booking_subject(slots: Slots, facts: Facts) -> str:
    """The end of a booking question: " for your test drive of the GT at Miami on ..."."""
    subject = " for your test drive"
    if slots.car_model:
        subject += f" of the {slots.car_model}"
    if slots.dealership_ids:
        subject += f" at {dealership_label(slots.dealership_ids[0], facts)}"
    if has_date(slots) and slots.date:
        subject += f" on {human_date(slots.date)}"
    return subject


def missing_question(missing: list[str], subject: str, slots: Slots, facts: Facts) -> str:
    """One short question naming every missing detail, followed by the choices or an example.

    Args:
        missing: The missing details, in order: "dealership", "day", "time", "model".
        subject: What the question is about, with a leading space (" me to check at Miami").
        slots: The details already given.
        facts: The prompt facts, for the choices and examples.

    Returns:
        The question.
    """
    opening = "What time" if missing == ["time"] else f"Which {join(missing)}"
    return " ".join(
        filter(None, [f"{opening} would you like{subject}?", _hint(missing, slots, facts)])
    )


def _hint(missing: list[str], slots: Slots, facts: Facts) -> str:
    explicit_date = "Please give the date as YYYY-MM-DD."
    needs_explicit = "day" in missing and (slots.date_needs_today or facts.today is None)
    if len(missing) >= 3:
        city = facts.dealerships[0].city if facts.dealerships else "Miami"
        model = facts.car_models[0] if facts.car_models else "SuperCar GT"
        when = " tomorrow" if not needs_explicit else ""
        example = f"For example: the {model} at {city}{when} at 10:00."
        return f"{example} {explicit_date}" if needs_explicit else example
    hints = {
        "dealership": we_have(facts),
        "day": explicit_date if needs_explicit else _date_example(facts.today),
        "time": "For example 10:00 or 3 pm.",
        "model": f"Our models are the {join(facts.car_models)}." if facts.car_models else "",
    }
    if "day" in missing and "time" in missing and not needs_explicit:
        hints["day"], hints["time"] = "", "For example tomorrow at 10:00."
    return " ".join(hints[name] for name in missing if hints[name])


def _date_example(today: date | None) -> str:
    sample = f" or {(today + timedelta(days=2)).isoformat()}" if today else ""
    return f"For example tomorrow, Friday{sample}."


_USED = r"\b(?:used|pre-?owned|second[\s-]?hand|certified)\b"
_SPECS = (
    r"\b(?:specs?|specifications?|horsepower|hp|range|mpg|0-60|top speed|battery|engine|torque|"
    r"seats|features?|colou?rs?|warranty|mileage|electric|hybrid|towing)\b"
)
_WHERE_TO_DRIVE = (
    r"\b(?:where|which (?:dealerships?|stores?|showrooms?|locations?))\b.*\b(?:has|have|offers?|"
    r"sells?|carr(?:y|ies)|stocks?|drive|try|test)\b"
)
_LINEUP = (
    r"\b(?:what|which)\s+(?:models?|cars?|vehicles?)\b|\blineup\b|\bwhat (?:do you|can i)"
    r" (?:sell|have|drive|test)\b"
)


@dataclass(frozen=True)
class SmallTalk:
    """One row of the small-talk table: a regex on normalized text, the reply, and an example."""

    pattern: str
    reply: Callable[[Slots, Facts], str]
    example: str


def _lineup(slots: Slots, facts: Facts) -> str:
    dealership = facts.dealership(slots.dealership_ids[0]) if slots.dealership_ids else None
    if dealership is not None:
        return (
            f"At {dealership.name} you can test drive the {join(dealership.models)}. " + OFFER_THERE
        )
    return (
        f"Our lineup is the {join(facts.car_models)}. Each dealership offers some of them; "
        "tell me which one you would like to drive and where. " + OFFER_TEST_DRIVE
    )


def _where_to_drive(slots: Slots, facts: Facts) -> str:
    if not slots.car_model:
        return _lineup(slots, facts)
    cities = [d.city for d in facts.dealerships if slots.car_model in d.models]
    if not cities:
        return (
            f"The {slots.car_model} is not offered for test drives right now. " + OFFER_TEST_DRIVE
        )
    return f"You can test drive the {slots.car_model} in {join(cities)}. " + OFFER_TEST_DRIVE


def _compare(slots: Slots, facts: Facts) -> str:
    return (
        "I can't compare specifications here; the best way to choose is to drive them. "
        f"Our lineup is the {join(facts.car_models)}, and I can book a test drive of either. "
        "Where would you like to drive?"
    )


def _nearest(slots: Slots, facts: Facts) -> str:
    return (
        f"I can't work out distances, but {we_have(facts)[0].lower()}{we_have(facts)[1:]} "
        "Which of these is closest to you? I can give you its address or book a test drive there."
    )


SMALL_TALK: tuple[SmallTalk, ...] = (
    SmallTalk(
        _MONEY.pattern,
        lambda s, f: (
            "I can't help with prices, financing or offers here; the team at the "
            "dealership will go through those with you in person. The best first step is a test "
            "drive. " + OFFER_TEST_DRIVE
        ),
        "how much is the gt?",
    ),
    SmallTalk(
        _USED,
        lambda s, f: (
            "We only offer test drives of new SuperCar models, so I can't help with used "
            f"cars. Our lineup is the {join(f.car_models)}. " + OFFER_TEST_DRIVE
        ),
        "do you sell used cars?",
    ),
    SmallTalk(
        _SPECS,
        lambda s, f: (
            "I don't have specifications here; the team at the dealership can go "
            "through them with you, and a test drive tells you more than a data sheet. "
            + OFFER_TEST_DRIVE
        ),
        "what's the range of the volt?",
    ),
    SmallTalk(
        _WHERE_TO_DRIVE,
        _where_to_drive,
        "which dealership has the volt?",
    ),
    SmallTalk(
        _LINEUP,
        _lineup,
        "what models do you have?",
    ),
    SmallTalk(
        r"\bjoke\b|\bfunny\b",
        lambda s, f: (
            "I'll leave the jokes to the showroom team; I'm better at finding you a "
            "test drive. " + OFFER_TEST_DRIVE
        ),
        "tell me a joke",
    ),
    SmallTalk(
        r"\b(?:who|what) are you\b|\bare you (?:a |an )?(?:bot|robot|human|real|person|ai)\b",
        lambda s, f: (
            "I'm Lex, SuperCar's virtual assistant, answering offline with fixed rules "
            "rather than a person. I can find a dealership, check the weather, show free "
            "test-drive times and book, move or cancel a test drive."
        ),
        "are you a bot?",
    ),
    SmallTalk(
        r"\bhow are you\b|\bhow's it going\b",
        lambda s, f: "I'm doing well, thanks for asking! " + OFFER_TEST_DRIVE,
        "how are you?",
    ),
    SmallTalk(
        r"^\W*(?:no|nope|nah|not now|maybe later)\b",
        lambda s, f: "No problem. Let me know if there is anything else I can do for you.",
        "no thanks",
    ),
    SmallTalk(
        r"\b(?:thanks|thank you|thx|cheers|appreciate it)\b",
        lambda s, f: "You're welcome. Let me know if there is anything else I can do for you.",
        "thanks!",
    ),
    SmallTalk(
        r"\b(?:bye|goodbye|see you|that's all|that is all)\b",
        lambda s, f: "Thanks for chatting with SuperCar. Have a great day!",
        "bye",
    ),
    SmallTalk(
        r"^\W*(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening))\b",
        lambda s, f: (
            "Hi, I'm Lex, SuperCar's virtual assistant. I can find a dealership, check "
            "the weather, show free test-drive times and book a test drive for you. How can I help?"
        ),
        "hello there",
    ),
    SmallTalk(
        r"^\W*(?:yes|yeah|yep|sure|ok|okay)\b",
        lambda s, f: (
            "Great! What would you like to do: check free test-drive times, book a test "
            "drive, or find a dealership?"
        ),
        "yes",
    ),
    SmallTalk(
        r"\bor\b|\bcompare\b|\bbetter\b|\bdifference\b|\bvs\.?\b|\bversus\b",
        _compare,
        "volt or terra?",
    ),
    SmallTalk(r"\b(?:closest|nearest|near me|nearby|close to)\b", _nearest, "closest store to me"),
)
_SMALL_TALK = tuple((re.compile(row.pattern), row) for row in SMALL_TALK)

_SPANISH = re.compile(
    r"\b(?:hola|quiero|quisiera|gracias|concesionario|ma[ñn]ana|puedo|reservar|coche|carro|"
    r"buenos d[ií]as|buenas|d[oó]nde|prueba de manejo|cu[aá]nto|por favor)\b"
)
SPANISH_REPLY = (
    "Lo siento: por ahora solo puedo atenderle en inglés. Sorry, I can only help in English "
    "for now: I can find a dealership, check the weather, show free test-drive times and book a "
    "test drive. How can I help?"
)


_BEFORE_REQUESTS = (_USED, _SPECS, _WHERE_TO_DRIVE, _LINEUP)
"""Questions answered from the directory even when they look like requests ("what colours does
the GT come in" is not a visit)."""
_COMPARE = re.compile(r"\bor\b|\bcompare\b|\bbetter\b|\bdifference\b|\bvs\.?\b|\bversus\b")


def catalog_answer(text: str, slots: Slots, facts: Facts) -> str:
    """The answer to a question about the lineup, used cars or specifications, else "".

    Only for a message naming no day or time: with one, it is a request.

    Args:
        text: Normalized, spell-corrected customer text.
        slots: Its slots.
        facts: The directory and lineup.

    Returns:
        The answer, or "" when the message is not such a question.
    """
    if slots.date or slots.date_needs_today or slots.time:
        return ""
    for pattern in _BEFORE_REQUESTS:
        if pattern == _WHERE_TO_DRIVE and not slots.car_model:
            continue  # "which dealerships do you have" lists dealerships
        if re.search(pattern, text):
            row = next(r for r in SMALL_TALK if r.pattern == pattern)
            return row.reply(slots, facts)
    compares = slots.car_model and not slots.dealership_ids and not _MONEY.search(text)
    if compares and _COMPARE.search(text):
        return _compare(slots, facts)
    return ""


def speaks_spanish(text: str) -> bool:
    """Whether the message is in Spanish, which the offline rules cannot read."""
    return bool(_SPANISH.search(normalize(text)))


def small_talk(text: str, slots: Slots, facts: Facts) -> str:
    """A short, specific answer to anything that is not a request; it never quotes prices.

    Args:
        text: The customer's message (normalized and spell-corrected is best).
        slots: Its slots; a car model gets a test-drive offer.
        facts: The directory and lineup, for the examples.

    Returns:
        The answer.
    """
    lowered = normalize(text)
    if speaks_spanish(lowered):
        return SPANISH_REPLY
    for pattern, row in _SMALL_TALK:
        if pattern.search(lowered):
            return row.reply(slots, facts)
    if slots.car_model:
        return f"The {slots.car_model} is best judged from the driver's seat. {OFFER_TEST_DRIVE}"
    city = facts.dealerships[0].city if facts.dealerships else "Miami"
    return (
        "Sorry, I didn't understand that. I can check the weather, find a dealership, show free "
        "test-drive times, and book, move or cancel a test drive, for example "
        f'"free slots in {city} tomorrow". What would you like to do?'
    )
