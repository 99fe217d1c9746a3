"""What a customer message asks for: a cue table per kind of request, and a message's requests.

Each cue is a table of phrasings (a regex on normalized, spell-corrected text) with an example a
test checks, so a new phrasing is one line. Tool-backed intents are named by `tools.names`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from agent.models.offline.facts import Facts
from agent.models.offline.parsing import Slots, extract_slots, read_text
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    GET_DEALERSHIP_ADDRESS,
    GET_WEATHER,
    LIST_DEALERSHIPS,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
)


class Intent(Enum):
    """What a customer can ask for; a tool-backed intent's value is the tool that serves it."""

    WEATHER = GET_WEATHER
    ADDRESS = GET_DEALERSHIP_ADDRESS
    AVAILABILITY = CHECK_APPOINTMENT_AVAILABILITY
    BOOKING = SCHEDULE_APPOINTMENT
    LIST_DEALERSHIPS = LIST_DEALERSHIPS
    MY_APPOINTMENTS = LIST_MY_APPOINTMENTS
    CANCEL = CANCEL_APPOINTMENT
    VISIT = "visit"
    """A booking asked as a question ("can I come Monday at 3?"): checked, then offered."""
    MOVE = "move"
    """A booking moved to another day or time: one booking that cancels the old one with it."""

    @property
    def tool(self) -> str:
        """The tool this intent needs first."""
        if self is Intent.VISIT:
            return CHECK_APPOINTMENT_AVAILABILITY
        if self is Intent.MOVE:
            return SCHEDULE_APPOINTMENT
        return str(self.value)


class Cue(Enum):
    """A kind of phrase that points to an intent; `_primary_intent` settles overlaps."""

    CANCEL = "cancel"
    MOVE = "move"
    BOOK = "book"
    VISIT = "visit"
    MINE = "mine"
    ADDRESS = "address"
    LIST = "list"
    FREE = "free"
    TEST_DRIVE = "test_drive"
    WEATHER = "weather"


@dataclass(frozen=True)
class Phrase:
    """One row of a cue table: a regex on normalized text and a sentence it must match."""

    pattern: str
    example: str


_BOOKING_NOUN = r"(?:appointments?|bookings?|reservations?|test[\s-]?drives?|slots?)"

CUE_TABLE: dict[Cue, tuple[Phrase, ...]] = {
    Cue.CANCEL: (
        Phrase(r"\bcancel\w*\b", "please cancel my booking"),
        Phrase(r"\bcall (?:it|that|this|the \w+(?: \w+)?) off\b|\bcall off\b", "call it off"),
        Phrase(r"\bscrap (?:it|that|my)\b", "scrap that"),
        Phrase(r"\b(?:can't|cannot|won't be able to) make it\b", "i can't make it anymore"),
        Phrase(rf"\bdrop (?:my|the) {_BOOKING_NOUN}\b", "drop my booking"),
    ),
    Cue.MOVE: (
        Phrase(r"\bmove (?:it|that|my|the|this)\b", "move it to saturday"),
        Phrase(r"\bre-?schedul\w*\b", "can I reschedule?"),
        Phrase(r"\bpostpone\b|\bpush (?:it|that|my|the)\b", "push it to friday"),
        Phrase(r"\bmake it\b", "actually make it 4pm instead"),
        Phrase(
            rf"\bchange (?:it|that|my|the)(?: {_BOOKING_NOUN}| time| day| date)?\b",
            "change my booking to 11am",
        ),
        Phrase(r"\binstead\b", "4pm instead"),
        Phrase(r"\bswitch (?:it|that|to)\b", "switch it to the volt"),
    ),
    Cue.BOOK: (
        Phrase(r"\b(?:book|schedule|reserve)\b", "book the gt at miami tomorrow at 10"),
        Phrase(r"\bsign me up\b|\bput me down\b", "sign me up for a test drive"),
        Phrase(r"\bmake\s+(?:an?\s+)?(?:appointment|booking|reservation)\b", "make an appointment"),
        Phrase(r"\bset up\b.*\b(?:test[\s-]?drive|appointment)\b", "set up a test drive"),
        Phrase(r"\bi(?:'ll| will) take (?:it|that|the)\b", "i'll take the 10:00"),
    ),
    Cue.VISIT: (
        Phrase(
            r"\b(?:can|could|may)\s+i\s+(?:come|swing|stop|drop|pop|see|check out)\b",
            "can I come on Monday?",
        ),
        Phrase(r"\b(?:can|could|may)\s+i\s+(?:take|drive|try|test)\b", "can I take the Volt out?"),
        Phrase(
            r"\bi\s+(?:could|can|might)\s+(?:come|swing|stop|drop|pop|see|take|drive|try|test)\b",
            "any chance I could see the Apex?",
        ),
        Phrase(r"\b(?:come|swing|stop|drop|pop)\s+(?:in|by|over)\b", "I'd like to swing by"),
        Phrase(r"\b(?:i want|i'd like|i would like) to (?:drive|try)\b", "i want to drive the gt"),
        Phrase(r"\bvisit\b", "I want to visit seattle on friday"),
    ),
    Cue.MINE: (
        Phrase(
            rf"\bmy\s+(?:upcoming\s+|current\s+|existing\s+|next\s+)?{_BOOKING_NOUN}\b",
            "show my appointments",
        ),
        Phrase(r"\b(?:have|did)\s+i\s+(?:booked|book|scheduled)\b", "what have i booked"),
        Phrase(
            rf"\bdo i have\s+(?:any\s+|anything\s+)?(?:{_BOOKING_NOUN}|booked|scheduled|test)\b",
            "do i have anything booked",
        ),
        Phrase(
            rf"\b(?:what|which)\s+{_BOOKING_NOUN}\s+do\s+i\s+have\b",
            "what appointments do I have",
        ),
        Phrase(r"\bwhat do i have\b", "what do I have on the calendar"),
    ),
    Cue.ADDRESS: (
        Phrase(r"\b(?:address|directions?|located|location|phone|contact)\b", "address please"),
        Phrase(r"\bhours\b", "what are the hours of the dallas dealership"),
        Phrase(
            r"\b(?:open(?:ing)?|close[sd]?|closing)\b(?!\s+(?:slots?|times?))",
            "is dallas open on sunday",
        ),
        Phrase(r"\bwhere\s+(?:is|are)\b|\bwhere's\b", "where is supercar dallas"),
        Phrase(r"\bhow\s+(?:do|can)\s+i\s+get\s+to\b", "how do i get to the miami store"),
    ),
    Cue.LIST: (
        Phrase(r"\b(?:dealerships|showrooms|locations|stores|branches)\b", "list your showrooms"),
        Phrase(
            r"\b(?:which|what|any)\s+(?:dealership|showroom|location|store)\b",
            "any dealership in texas?",
        ),
        Phrase(
            r"\b(?:is there|do you have)\s+(?:a|any)\s+(?:dealership|showroom|store)\b",
            "is there a store in california",
        ),
    ),
    Cue.FREE: (
        Phrase(r"\b(?:availab\w*|free|slots?|openings?)\b", "free slots in miami tomorrow"),
        Phrase(r"\bopen\s+(?:slots?|times?)\b", "open times in dallas friday"),
        Phrase(r"\bwhen\s+can\s+i\b", "when can i come to chicago"),
        Phrase(r"\b(?:what|which)\s+times?\b", "what time works in miami tomorrow"),
    ),
    Cue.TEST_DRIVE: (
        Phrase(r"\btest[\s-]?drive\b|\btestdrive\b", "a test drive"),
        Phrase(r"\bappointment\b", "an appointment"),
    ),
    Cue.WEATHER: (
        Phrase(
            r"\b(?:weather|forecast|temperature|rain\w*|snow\w*|sunny|umbrella|hot|cold|warm)\b",
            "weather in miami",
        ),
    ),
}

_CUES: dict[Cue, re.Pattern[str]] = {
    cue: re.compile("|".join(f"(?:{row.pattern})" for row in rows))
    for cue, rows in CUE_TABLE.items()
}
_SEGMENT_SPLIT = re.compile(r"\s*(?:[;!?]|\.(?:\s|$)|,|\band\b|\balso\b|\bthen\b|\bplus\b)\s*")


def cues_in(text: str) -> dict[Cue, int]:
    """The cues found in normalized text, each with where it first appears."""
    return {cue: m.start() for cue, p in _CUES.items() if (m := p.search(text))}


def _segment_intents(segment: str, facts: Facts) -> list[Intent]:
    """Decides what one clause asks for; weather can ride along with any other request."""
    cues = cues_in(segment)
    found = [(cues[Cue.WEATHER], Intent.WEATHER)] if Cue.WEATHER in cues else []
    if primary := _primary_intent(set(cues), segment, facts):
        found.append((min(cues.values()), primary))
    return [intent for _, intent in sorted(found, key=lambda item: item[0])]


def _primary_intent(cues: set[Cue], segment: str, facts: Facts) -> Intent | None:
    """Settles overlapping cues, strongest first ("cancel my booking" is not a booking)."""
    if Cue.CANCEL in cues:
        return Intent.CANCEL
    if Cue.MOVE in cues:
        return Intent.MOVE
    if Cue.BOOK in cues:
        # "Can I book a test drive? Which times are free?" asks for the free times.
        has_time = extract_slots(segment, facts).time is not None
        return Intent.AVAILABILITY if Cue.FREE in cues and not has_time else Intent.BOOKING
    if Cue.MINE in cues:
        return Intent.MY_APPOINTMENTS
    if Cue.VISIT in cues:
        slots = extract_slots(segment, facts)
        return Intent.VISIT if slots.time else Intent.AVAILABILITY
    if Cue.ADDRESS in cues or Cue.LIST in cues:
        # "where are your dealerships" lists them; "where is the Miami dealership" is one address.
        slots = extract_slots(segment, facts)
        specific = bool(slots.dealership_ids or slots.unknown_dealership)
        wants_address = Cue.ADDRESS in cues and (specific or Cue.LIST not in cues)
        return Intent.ADDRESS if wants_address else Intent.LIST_DEALERSHIPS
    if Cue.FREE in cues:
        return Intent.AVAILABILITY
    if Cue.TEST_DRIVE in cues and Cue.WEATHER not in cues:
        return Intent.BOOKING
    return None


def understand(text: str, facts: Facts) -> list[tuple[Intent, Slots]]:
    """Splits a message into requests, each with the slots of its own clauses.

    Clauses without a cue ("and Dallas", "tomorrow at 10") belong to the request before them.

    Args:
        text: The customer's message.
        facts: The directory, lineup and today.

    Returns:
        (intent, slots) pairs in the order the customer asked.
    """
    segments = [s for s in _SEGMENT_SPLIT.split(read_text(text, facts)) if s and s.strip()]
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
