"""What the offline model says before it can call a tool: questions for missing details, small talk.

Questions name every missing detail at once with the choices or an example; small talk never
quotes prices and steers toward a test drive.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from agent.models.offline.parsing import PromptFacts, Slots, normalize
from agent.models.offline.phrasing import (
    OFFER_TEST_DRIVE,
    dealership_label,
    human_date,
    join,
    we_have,
)

_DECLINE = re.compile(r"^\W*(?:no|nope|nah|not now|maybe later)\b")
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening))\b"
)
_THANKS = re.compile(r"\b(?:thanks|thank you|thx|cheers|appreciate it)\b")
_GOODBYE = re.compile(r"\b(?:bye|goodbye|see you|that's all|that is all)\b")
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


def unknown_dealership_question(name: str, facts: PromptFacts) -> str:
    """Says a named dealership is not in the directory and asks which one is meant."""
    choices = f" {we_have(facts)}" if facts.dealerships else ""
    return f"I couldn't find a SuperCar dealership in {name}.{choices} Which one would you like?"


def booking_subject(slots: Slots, facts: PromptFacts) -> str:
    """The end of a booking question: " for your test drive of the GT at Miami on ..."."""
    subject = " for your test drive"
    if slots.car_model:
        subject += f" of the {slots.car_model}"
    if slots.dealership_ids:
        subject += f" at {dealership_label(slots.dealership_ids[0], facts)}"
    if has_date(slots) and slots.date:
        subject += f" on {human_date(slots.date)}"
    return subject


def missing_question(missing: list[str], subject: str, slots: Slots, facts: PromptFacts) -> str:
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


def _hint(missing: list[str], slots: Slots, facts: PromptFacts) -> str:
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


def small_talk(text: str, slots: Slots, facts: PromptFacts) -> str:
    """A friendly answer to anything that is not a request; it never quotes prices.

    Args:
        text: The customer's message.
        slots: Its slots; a car model gets a test-drive offer.
        facts: The prompt facts, for the examples.

    Returns:
        The answer.
    """
    lowered = normalize(text)
    if _MONEY.search(lowered):
        return (
            "I can't help with prices, financing or offers here; the team at the dealership will "
            "go through those with you in person. The best first step is a test drive. "
            + OFFER_TEST_DRIVE
        )
    if _THANKS.search(lowered):
        return "You're welcome. Let me know if there is anything else I can do for you."
    if _DECLINE.match(lowered):
        return "No problem. Let me know if there is anything else I can do for you."
    if _GOODBYE.search(lowered):
        return "Thanks for chatting with SuperCar. Have a great day!"
    if _GREETING.match(lowered):
        return (
            "Hi, I'm Lex, SuperCar's virtual assistant. I can find a dealership, check the "
            "weather, show free test-drive times and book a test drive for you. How can I help?"
        )
    if slots.car_model:
        return f"The {slots.car_model} is best judged from the driver's seat. {OFFER_TEST_DRIVE}"
    city = facts.dealerships[0].city if facts.dealerships else "Miami"
    model = facts.car_models[0] if facts.car_models else "SuperCar GT"
    return (
        "I'm running in offline mode, so I understand simple requests such as "
        f'"weather in {city}", "free slots at {city} tomorrow" or "book a test drive of the '
        f'{model} at {city} tomorrow at 10am". How can I help?'
    )
