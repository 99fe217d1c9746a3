"""What a customer message asks for: the intent table and the split of a message into requests.

Each intent names the tool that serves it; the slots of each request come from offline_parsing.
"""

from __future__ import annotations

import re
from enum import Enum

from agent.models.offline.parsing import PromptFacts, Slots, extract_slots, normalize


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
