"""Reading an offline conversation: what earlier turns asked, resolved, booked and cancelled.

Gives the planner the context a follow-up needs ("10am", "yes", "cancel it") from the messages
alone, so the model keeps no state of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.models.offline.intents import Intent, understand
from agent.models.offline.parsing import PromptFacts, Slots, extract_slots, normalize
from agent.models.offline.phrasing import BOOKING_OFFERS

ToolCallSpec = tuple[str, dict[str, Any]]
"""A tool call as (tool name, arguments)."""

_LOOKBACK_TURNS = 4
_TOOL_NAMES = frozenset(intent.value for intent in Intent)

# Which earlier requests may lend their details (dealership, day, ...) to a new request.
_RELATED: dict[Intent, frozenset[Intent]] = {
    Intent.BOOKING: frozenset({Intent.BOOKING, Intent.AVAILABILITY, Intent.ADDRESS}),
    Intent.AVAILABILITY: frozenset({Intent.AVAILABILITY, Intent.BOOKING, Intent.ADDRESS}),
    Intent.ADDRESS: frozenset(
        {Intent.ADDRESS, Intent.AVAILABILITY, Intent.BOOKING, Intent.WEATHER}
    ),
    Intent.WEATHER: frozenset(
        {Intent.WEATHER, Intent.ADDRESS, Intent.AVAILABILITY, Intent.BOOKING}
    ),
    Intent.CANCEL: frozenset({Intent.CANCEL}),
}

_AFFIRMATIVE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|please|go ahead|sounds good|let's do it|book it|"
    r"do it|absolutely|definitely)\b"
)


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

    facts: PromptFacts
    turns: tuple[Turn, ...]
    last_ai_text: str
    active_bookings: tuple[str, ...]
    tool_names: frozenset[str]


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
    messages: Sequence[BaseMessage], facts: PromptFacts, tool_names: frozenset[str]
) -> Conversation:
    """Reads every turn before the last customer message.

    Args:
        messages: The conversation; its last message is the customer's new one.
        facts: The prompt facts used to read earlier customer messages.
        tool_names: The tools the model may call now.

    Returns:
        The earlier turns, the last non-empty AI text and the bookings still active.
    """
    earlier = messages[:-1]
    starts = [i for i, m in enumerate(earlier) if isinstance(m, HumanMessage)]
    ends = [*starts[1:], len(earlier)][: len(starts)]
    turns = tuple(
        _read_turn(message_text(earlier[start]), earlier[start + 1 : end], facts)
        for start, end in zip(starts, ends, strict=True)
    )
    last_ai_text = next(
        (
            message_text(m)
            for m in reversed(earlier)
            if isinstance(m, AIMessage) and message_text(m)
        ),
        "",
    )
    return Conversation(facts, turns, last_ai_text, _active_bookings(earlier), tool_names)


def _read_turn(text: str, replies: Sequence[BaseMessage], facts: PromptFacts) -> Turn:
    calls = [
        (call["name"], call["args"])
        for message in replies
        if isinstance(message, AIMessage)
        for call in message.tool_calls
    ]
    intents = tuple(intent for intent, _ in understand(text, facts))
    if not intents:  # an answer to a question: the tools it led to say what it was about
        intents = tuple(dict.fromkeys(Intent(name) for name, _ in calls if name in _TOOL_NAMES))
    booked = next(
        (
            confirmation_id
            for m in replies
            if isinstance(m, ToolMessage)
            and m.name == Intent.BOOKING.value
            and m.status != "error"
            and isinstance(
                confirmation_id := json_object(message_text(m)).get("confirmation_id"), str
            )
        ),
        None,
    )
    return Turn(intents, extract_slots(text, facts).overlay(_slots_from_calls(calls)), booked)


def _slots_from_calls(calls: Sequence[ToolCallSpec]) -> Slots:
    """Turns the arguments of earlier tool calls back into slots: they are already resolved."""
    slots = Slots()
    for name, args in calls:
        text = {key: value for key, value in args.items() if isinstance(value, str)}
        city = text.get("city")
        slots = slots.overlay(
            Slots(
                dealership_ids=(text["dealership_id"],) if "dealership_id" in text else (),
                cities=(city,) if city and name == Intent.WEATHER.value else (),
                area=city if name == Intent.LIST_DEALERSHIPS.value else None,
                date=text.get("date"),
                time=text.get("time"),
                car_model=text.get("car_model"),
                confirmation_id=text.get("confirmation_id"),
            )
        )
    return slots


def _active_bookings(messages: Sequence[BaseMessage]) -> tuple[str, ...]:
    """Confirmation ids booked or listed in this conversation and not cancelled since."""
    active: dict[str, None] = {}
    for message in messages:
        if not isinstance(message, ToolMessage) or message.status == "error":
            continue
        data = json_object(message_text(message))
        entries = [data] if message.name != Intent.MY_APPOINTMENTS.value else []
        entries += dicts(data.get("appointments"))
        for entry in entries:
            confirmation_id = entry.get("confirmation_id")
            if not isinstance(confirmation_id, str):
                continue
            if entry.get("status") == "cancelled" or message.name == Intent.CANCEL.value:
                active.pop(confirmation_id, None)
            else:
                active[confirmation_id] = None
    return tuple(active)


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
        if unrelated or (turn.booked and intent is Intent.BOOKING):
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
    offered = conversation.last_ai_text.endswith(BOOKING_OFFERS)
    booking_detail = bool(slots.time or slots.car_model or slots.date or slots.date_needs_today)
    if offered and (booking_detail or _AFFIRMATIVE.match(normalize(text))):
        return [Intent.BOOKING]
    place = slots.dealership_ids or slots.unknown_dealership or slots.cities
    previous = next((turn.intents for turn in reversed(conversation.turns) if turn.intents), ())
    if not previous or not (booking_detail or place or slots.confirmation_id):
        return []
    if {Intent.AVAILABILITY, Intent.ADDRESS}.intersection(previous) and (
        slots.time or slots.car_model
    ):
        return [Intent.BOOKING]
    return [intent for intent in previous if intent is not Intent.MY_APPOINTMENTS]
