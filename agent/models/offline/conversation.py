"""Reading an offline conversation: what earlier turns asked, resolved, booked and cancelled.

Gives the planner the context a follow-up needs ("10am", "yes", "cancel it", "move it to
Saturday") from the saved messages alone, so the model keeps no state of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.models.offline.facts import Facts
from agent.models.offline.intents import Intent, understand
from agent.models.offline.parsing import Slots, extract_slots, read_text
from agent.models.offline.phrasing import BOOKING_OFFERS, OFFER_SLOT, RECAP_CANCEL, RECAP_MOVE
from tools.bookings import REPLACED_CONFIRMATION_ID
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    LIST_DEALERSHIPS,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
    TOOL_NAMES,
)

ToolCallSpec = tuple[str, dict[str, Any]]
"""A tool call as (tool name, arguments)."""

_LOOKBACK_TURNS = 4

# Which earlier requests may lend their details (dealership, day, ...) to a new request.
_BOOKING_FAMILY = frozenset(
    {Intent.BOOKING, Intent.VISIT, Intent.AVAILABILITY, Intent.ADDRESS, Intent.MOVE}
)
_RELATED: dict[Intent, frozenset[Intent]] = {
    Intent.BOOKING: _BOOKING_FAMILY | {Intent.WEATHER},
    Intent.VISIT: _BOOKING_FAMILY | {Intent.WEATHER},
    Intent.AVAILABILITY: _BOOKING_FAMILY,
    Intent.ADDRESS: _BOOKING_FAMILY | {Intent.WEATHER},
    Intent.WEATHER: _BOOKING_FAMILY | {Intent.WEATHER},
    Intent.CANCEL: frozenset({Intent.CANCEL}),
    Intent.MOVE: frozenset({Intent.MOVE}),
}

AFFIRMATIVE = re.compile(
    r"^\W*(?:yes|yeah|yea|yep|yup|sure|ok|okay|please|go ahead|sounds good|let's do it|book it|"
    r"do it|absolutely|definitely|perfect|great|correct|confirm\w*|that works|works for me|"
    r"si|sí)\b"
)
NEGATIVE = re.compile(r"^\W*(?:no|nope|nah|not now|maybe later|don't|do not|never mind|keep it)\b")


@dataclass(frozen=True)
class Booking:
    """A test drive the conversation has seen booked or listed."""

    confirmation_id: str
    dealership_id: str
    date: str
    time: str
    model: str
    active: bool = True


@dataclass(frozen=True)
class Turn:
    """An earlier customer message with what was understood and done about it."""

    intents: tuple[Intent, ...]
    slots: Slots
    booked: str | None
    """Confirmation id of a booking this turn made, if any."""


@dataclass(frozen=True)
class Conversation:
    """Everything before the last customer message that the planner may use."""

    facts: Facts
    turns: tuple[Turn, ...]
    last_ai_text: str
    bookings: tuple[Booking, ...]
    tool_names: frozenset[str]
    weather_takes_date: bool = False
    checked: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """Free times by (dealership id, date) from the availability checks of the last two turns."""

    @property
    def active_bookings(self) -> tuple[Booking, ...]:
        """The bookings still confirmed, in the order they were first seen."""
        return tuple(b for b in self.bookings if b.active)

    def booking(self, confirmation_id: str | None) -> Booking | None:
        """The booking with this id, if the conversation has seen it."""
        return next((b for b in self.bookings if b.confirmation_id == confirmation_id), None)

    @property
    def last_booked(self) -> Booking | None:
        """The booking the most recent booking turn made, when still active."""
        for turn in reversed(self.turns):
            if turn.booked:
                found = self.booking(turn.booked)
                return found if found and found.active else None
        return None

    def pending_change(self) -> str | None:
        """The change ("cancel" or "move") the last answer recapped, awaiting a yes."""
        if self.last_ai_text.endswith(RECAP_CANCEL):
            return "cancel"
        if self.last_ai_text.endswith(RECAP_MOVE):
            return "move"
        return None

    def offered_booking(self) -> bool:
        """Whether the last answer offered to book, so a time or a yes means "book it"."""
        return self.last_ai_text.endswith(BOOKING_OFFERS)

    def offered_instead(self) -> OfferedTimes | None:
        """The free times the last answer offered in place of one that was not free, if any."""
        if not self.last_ai_text.endswith(OFFER_SLOT):
            return None
        match = _OFFERED_INSTEAD_RE.search(self.last_ai_text)
        if match is None:
            return None
        times = tuple(re.findall(r"\b\d{2}:\d{2}\b", match.group("times")))
        return OfferedTimes(match.group("date"), times) if times else None


@dataclass(frozen=True)
class OfferedTimes:
    """Free times offered instead of a time that was not free ("yes" picks one, or asks which).

    Attributes:
        date: The other day they are on (ISO), None when they are on the day asked for.
        times: The times offered, "HH:MM".
    """

    date: str | None
    times: tuple[str, ...]


_OFFERED_INSTEAD_RE = re.compile(
    r"The nearest free times (?:that day are|are on \w+ (?P<date>\d{4}-\d{2}-\d{2}):) "
    r"(?P<times>[\d:, and]+)\."
)
"""Reads the offer `flow.py` writes after a taken time or a closed day."""


def message_text(message: BaseMessage) -> str:
    """The text of a message with its whitespace collapsed."""
    return " ".join(str(message.text).split())


def json_object(text: str) -> dict[str, Any]:
    """Parses a JSON object; other JSON or invalid text gives an empty dict."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def dicts(value: object) -> list[dict[str, Any]]:
    """The dict items of a JSON list; anything else gives an empty list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def read_conversation(
    messages: Sequence[BaseMessage],
    facts: Facts,
    tool_names: frozenset[str],
    *,
    weather_takes_date: bool = False,
) -> Conversation:
    """Reads every turn before the last customer message.

    Args:
        messages: The conversation; its last customer message is the one being answered.
        facts: The facts used to read earlier customer messages.
        tool_names: The tools the model may call now.
        weather_takes_date: Whether the bound weather tool takes a `date` (a forecast).

    Returns:
        The earlier turns, the last non-empty AI text and the bookings seen.
    """
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    earlier = messages[:last_human]
    starts = [i for i, m in enumerate(earlier) if isinstance(m, HumanMessage)]
    ends = [*starts[1:], len(earlier)][: len(starts)]
    turns: list[Turn] = []
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        # Recent answers to questions ("10am", "the GT") continue what was asked before them.
        so_far = None
        if index >= len(starts) - _LOOKBACK_TURNS - 1:
            so_far = Conversation(
                facts, tuple(turns), _last_ai_text(earlier[:start]), (), tool_names
            )
        replies = earlier[start + 1 : end]
        turns.append(_read_turn(message_text(earlier[start]), replies, facts, so_far))
    recent = earlier[starts[-2] if len(starts) >= 2 else 0 :]
    return Conversation(
        facts,
        tuple(turns),
        _last_ai_text(earlier),
        read_bookings(earlier),
        tool_names,
        weather_takes_date,
        free_times_checked(recent),
    )


def _last_ai_text(messages: Sequence[BaseMessage]) -> str:
    return next(
        (
            message_text(m)
            for m in reversed(messages)
            if isinstance(m, AIMessage) and message_text(m)
        ),
        "",
    )


def tool_results(messages: Sequence[BaseMessage]) -> list[tuple[str, dict[str, Any], ToolMessage]]:
    """Each tool result with the name and arguments of the call it answers, in order."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    found: list[tuple[str, dict[str, Any], ToolMessage]] = []
    for message in messages:
        if isinstance(message, AIMessage):
            calls.update({str(c["id"]): (c["name"], c["args"]) for c in message.tool_calls})
        elif isinstance(message, ToolMessage):
            name, args = calls.get(message.tool_call_id, (message.name or "", {}))
            found.append((message.name or name, args, message))
    return found


def free_times_checked(messages: Sequence[BaseMessage]) -> dict[tuple[str, str], tuple[str, ...]]:
    """Free times by (dealership id, date) from the successful availability checks given."""
    checked: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, args, message in tool_results(messages):
        if name != CHECK_APPOINTMENT_AVAILABILITY or message.status == "error":
            continue
        data = json_object(message_text(message))
        key = (str(data.get("dealership_id") or args.get("dealership_id")), str(data.get("date")))
        times = data.get("available_times")
        if isinstance(times, list):
            checked[key] = tuple(t for t in times if isinstance(t, str))
    return checked


def _read_turn(
    text: str, replies: Sequence[BaseMessage], facts: Facts, before: Conversation | None
) -> Turn:
    calls = [
        (call["name"], call["args"])
        for message in replies
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    ]
    intents = tuple(intent for intent, _ in understand(text, facts))
    slots = extract_slots(text, facts)
    if not intents and before is not None:  # an answer to a question continues what was asked
        intents = tuple(follow_up_intents(text, slots, before))
    if not intents:  # the tools it led to say what it was about
        intents = tuple(dict.fromkeys(Intent(name) for name, _ in calls if name in TOOL_NAMES))
    booked = next(
        (
            confirmation_id
            for m in replies
            if isinstance(m, ToolMessage)
            and m.name == SCHEDULE_APPOINTMENT
            and m.status != "error"
            and isinstance(
                confirmation_id := json_object(message_text(m)).get("confirmation_id"), str
            )
        ),
        None,
    )
    if Intent.MOVE not in intents and Intent.CANCEL not in intents:
        slots = slots.overlay(_slots_from_calls(calls))
    return Turn(intents, slots, booked)


def _slots_from_calls(calls: Sequence[ToolCallSpec]) -> Slots:
    """Turns the arguments of earlier tool calls back into slots: they are already resolved."""
    slots = Slots()
    for name, args in calls:
        if name == CANCEL_APPOINTMENT:
            continue
        text = {key: value for key, value in args.items() if isinstance(value, str)}
        city = text.get("city")
        slots = slots.overlay(
            Slots(
                dealership_ids=(text["dealership_id"],) if "dealership_id" in text else (),
                cities=(city,) if city and name == Intent.WEATHER.value else (),
                area=city if name == LIST_DEALERSHIPS else None,
                date=text.get("date") if name != Intent.WEATHER.value else None,
                time=text.get("time"),
                car_model=text.get("car_model"),
            )
        )
    return slots


def read_bookings(messages: Sequence[BaseMessage]) -> tuple[Booking, ...]:
    """Every booking the tool results show, with its latest status, in order of first sight."""
    return bookings_in(tool_results(messages))


def bookings_in(results: Sequence[tuple[str, dict[str, Any], ToolMessage]]) -> tuple[Booking, ...]:
    """Every booking the given tool results show, with its latest status, first seen first."""
    seen: dict[str, Booking] = {}
    for name, _, message in results:
        if message.status == "error":
            continue
        data = json_object(message_text(message))
        entries = dicts(data.get("appointments")) if name == LIST_MY_APPOINTMENTS else [data]
        replaced = seen.get(str(data.get(REPLACED_CONFIRMATION_ID)))
        if name == SCHEDULE_APPOINTMENT and replaced is not None:  # a move cancelled it
            seen[replaced.confirmation_id] = replace(replaced, active=False)
        for entry in entries:
            confirmation_id = entry.get("confirmation_id")
            if not isinstance(confirmation_id, str):
                continue
            cancelled = entry.get("status") == "cancelled" or name == CANCEL_APPOINTMENT
            known = seen.get(confirmation_id)
            if name == CANCEL_APPOINTMENT or (known and not entry.get("date")):
                if known:
                    seen[confirmation_id] = replace(known, active=not cancelled)
                continue
            seen[confirmation_id] = Booking(
                confirmation_id,
                str(entry.get("dealership_id") or ""),
                str(entry.get("date") or ""),
                str(entry.get("time") or ""),
                str(entry.get("model") or ""),
                active=not cancelled,
            )
    return tuple(seen.values())


def history_slots(conversation: Conversation, intent: Intent) -> Slots:
    """Details an earlier related request gave ("free slots at Miami tomorrow", then "book 10am").

    Walks back over recent turns until one is about something else; a new booking does not reuse
    the details of a booking already made.

    Args:
        conversation: The conversation read so far.
        intent: The new request.

    Returns:
        The details merged oldest first; empty when no earlier turn is related.
    """
    related = _RELATED.get(intent, frozenset())
    picked: list[Slots] = []
    for turn in reversed(conversation.turns[-_LOOKBACK_TURNS:]) if related else ():
        unrelated = bool(turn.intents) and not related.intersection(turn.intents)
        if unrelated or (turn.booked and intent in (Intent.BOOKING, Intent.VISIT)):
            break
        picked.append(turn.slots)
    merged = Slots()
    for slots in reversed(picked):
        merged = merged.overlay(slots)
    return merged


def follow_up_intents(text: str, slots: Slots, conversation: Conversation) -> list[Intent]:
    """What a message without cue words continues: "10am", "yes", "what about Dallas?".

    Args:
        text: The customer's message.
        slots: The slots of the whole message.
        conversation: The conversation before it.

    Returns:
        The intents it continues; empty when it continues nothing.
    """
    said = read_text(text, conversation.facts)
    pending = conversation.pending_change()
    if pending and AFFIRMATIVE.match(said):
        return [Intent.CANCEL if pending == "cancel" else Intent.MOVE]
    booking_detail = bool(slots.time or slots.car_model or slots.date or slots.date_needs_today)
    previous = conversation.turns[-1].intents if conversation.turns else ()
    if (pending == "move" or Intent.MOVE in previous) and booking_detail:
        return [Intent.MOVE]
    only_a_day = not (slots.time or slots.car_model)
    if only_a_day and booking_detail and Intent.AVAILABILITY in previous:
        return [Intent.AVAILABILITY]  # "what about friday?" after free times: check that day
    if conversation.offered_booking() and (booking_detail or AFFIRMATIVE.match(said)):
        return [Intent.BOOKING]
    place = slots.dealership_ids or slots.unknown_dealership or slots.cities
    if not previous or not (booking_detail or place or slots.confirmation_id):
        return []
    if {Intent.AVAILABILITY, Intent.ADDRESS, Intent.VISIT}.intersection(previous) and (
        slots.time or slots.car_model
    ):
        return [Intent.VISIT if Intent.VISIT in previous else Intent.BOOKING]
    return [
        intent
        for intent in previous
        if intent not in (Intent.MY_APPOINTMENTS, Intent.CANCEL, Intent.MOVE)
    ]
