"""Wording shared by the offline model's questions and answers: offers, recaps, phrasing helpers.

The offers and recaps live here because answers end with them and the conversation reader looks
for them to know what a "yes" agrees to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from agent.models.offline.facts import Facts

# Questions after which "yes", a time or a car model means "book it".
OFFER_TEST_DRIVE = "Would you like to book a test drive?"
OFFER_THERE = "Would you like to book a test drive there?"
OFFER_SLOT = "Would you like me to book one of these times?"
OFFER_RETRY = "Would you like to try another time or day?"
OFFER_BOOK = "Shall I book it for you?"
BOOKING_OFFERS = (OFFER_TEST_DRIVE, OFFER_THERE, OFFER_SLOT, OFFER_RETRY, OFFER_BOOK)

OFFER_MORE = "Is there anything else I can do for you?"
OFFER_MOVE_INSTEAD = "I can move one of your test drives there instead, or cancel one: which?"
"""After a booking refused at the cap: not a booking offer, so a bare "yes" books nothing."""

# Recaps before changing a booking; a "yes" after one carries the change out.
RECAP_CANCEL = "Shall I cancel it?"
RECAP_MOVE = "Shall I move it?"


def join(items: Sequence[str], last: str = "and") -> str:
    """Joins items as in a sentence: "a", "a and b", "a, b and c".

    Args:
        items: The phrases to join.
        last: The word before the last item.

    Returns:
        The joined phrase; empty for no items.
    """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def sentence(text: str) -> str:
    """Collapses whitespace and ends non-empty text with a full stop unless it has one."""
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else f"{text}."


def dealership_label(dealership_id: str, facts: Facts) -> str:
    """The directory name of a dealership, or its id read as a place name."""
    dealership = facts.dealership(dealership_id)
    return dealership.name if dealership else dealership_id.replace("-", " ").title()


def human_date(iso: str) -> str:
    """An ISO date with its weekday ("Friday 2026-11-27"); other text is returned as is."""
    try:
        return f"{date.fromisoformat(iso):%A} {iso}"
    except ValueError:
        return iso


def we_have(facts: Facts) -> str:
    """The sentence naming the dealership cities, or empty text without a directory."""
    cities = [d.city for d in facts.dealerships]
    return f"We have dealerships in {join(cities)}." if cities else ""
