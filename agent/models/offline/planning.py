"""Planning the offline model's reply to a customer message: tool calls, or one question.

Each intent has a planner that calls its tool only with every detail; a missing detail becomes a
question, and details from related earlier turns fill the gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.models.offline.conversation import (
    Conversation,
    ToolCallSpec,
    follow_up_intents,
    history_slots,
)
from agent.models.offline.intents import Intent, understand
from agent.models.offline.parsing import Slots, extract_slots
from agent.models.offline.phrasing import dealership_label, join, we_have
from agent.models.offline.questions import (
    booking_subject,
    has_date,
    mentions_money,
    missing_question,
    small_talk,
    unknown_dealership_question,
)

_MAX_PARALLEL_CALLS = 3
_CANNOT = {
    Intent.WEATHER: "check the weather",
    Intent.ADDRESS: "look up dealership addresses",
    Intent.AVAILABILITY: "check free test-drive times",
    Intent.BOOKING: "book test drives",
    Intent.LIST_DEALERSHIPS: "list our dealerships",
    Intent.MY_APPOINTMENTS: "look up your bookings",
    Intent.CANCEL: "cancel bookings",
}


@dataclass(frozen=True)
class Reply:
    """One step of the model: plain text, or tool calls (name, arguments)."""

    text: str = ""
    tool_calls: tuple[ToolCallSpec, ...] = ()


@dataclass(frozen=True)
class _Step:
    """What one request needs: tool calls, or a question for the missing details."""

    calls: tuple[ToolCallSpec, ...] = ()
    question: str = ""


def plan_reply(text: str, conversation: Conversation) -> Reply:
    """Plans the reply to the customer's last message.

    Args:
        text: The customer's last message.
        conversation: The conversation before it.

    Returns:
        Tool calls when every request has its details, the first question otherwise, small talk
        for a message that asks for nothing, or an apology for tools that are not bound.
    """
    facts = conversation.facts
    whole = extract_slots(text, facts)
    requests = understand(text, facts)
    if not requests and not mentions_money(text):
        requests = [(i, Slots()) for i in follow_up_intents(text, whole, conversation)]
    if not requests:
        return Reply(text=small_talk(text, whole, facts))
    intents = [intent for intent, _ in requests]
    if Intent.AVAILABILITY in intents and Intent.BOOKING in intents and not whole.time:
        # "Can I book at Miami tomorrow? What times are free?": the free times answer it.
        requests = [(i, s) for i, s in requests if i is not Intent.BOOKING]

    calls: list[ToolCallSpec] = []
    unavailable: list[str] = []
    for intent, slots in requests:
        if intent.value not in conversation.tool_names:
            unavailable.append(_CANNOT[intent])
            continue
        merged = history_slots(conversation, intent).overlay(whole).overlay(slots)
        step = _PLANNERS[intent](merged, conversation)
        if step.question:
            return Reply(text=step.question)
        calls.extend(call for call in step.calls if call not in calls)
    if calls:
        return Reply(tool_calls=tuple(calls))
    return Reply(text=f"Sorry, I can't {join(unavailable, 'or')} right now.")


def _plan_booking(slots: Slots, conversation: Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=unknown_dealership_question(slots.unknown_dealership, facts))
    present = {
        "dealership": bool(slots.dealership_ids),
        "day": has_date(slots),
        "time": bool(slots.time),
        "model": bool(slots.car_model),
    }
    missing = [name for name, ok in present.items() if not ok]
    if missing:
        subject = booking_subject(slots, facts)
        return _Step(question=missing_question(missing, subject, slots, facts))
    args = {
        "dealership_id": slots.dealership_ids[0],
        "date": slots.date,
        "time": slots.time,
        "car_model": slots.car_model,
    }
    return _Step(calls=((Intent.BOOKING.value, args),))


def _plan_availability(slots: Slots, conversation: Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=unknown_dealership_question(slots.unknown_dealership, facts))
    present = {"dealership": bool(slots.dealership_ids), "day": has_date(slots)}
    missing = [name for name, ok in present.items() if not ok]
    if missing:
        where = slots.dealership_ids[:1]
        subject = " me to check" + (f" at {dealership_label(where[0], facts)}" if where else "")
        return _Step(question=missing_question(missing, subject, slots, facts))
    return _Step(
        calls=tuple(
            (Intent.AVAILABILITY.value, {"dealership_id": dealership_id, "date": slots.date})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        )
    )


def _plan_address(slots: Slots, conversation: Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=unknown_dealership_question(slots.unknown_dealership, facts))
    if not slots.dealership_ids:
        question = f"Which dealership would you like the address of? {we_have(facts)}"
        return _Step(question=question.strip())
    return _Step(
        calls=tuple(
            (Intent.ADDRESS.value, {"dealership_id": dealership_id})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        )
    )


def _plan_weather(slots: Slots, conversation: Conversation) -> _Step:
    facts = conversation.facts
    cities = slots.cities or tuple(
        dealership.city if (dealership := facts.dealership(i)) else i.replace("-", " ").title()
        for i in slots.dealership_ids
    )
    if not cities:
        return _Step(question="Which city would you like the weather for?")
    return _Step(
        calls=tuple((Intent.WEATHER.value, {"city": city}) for city in cities[:_MAX_PARALLEL_CALLS])
    )


def _plan_list(slots: Slots, conversation: Conversation) -> _Step:
    return _Step(
        calls=((Intent.LIST_DEALERSHIPS.value, {"city": slots.area} if slots.area else {}),)
    )


def _plan_my_appointments(slots: Slots, conversation: Conversation) -> _Step:
    return _Step(calls=((Intent.MY_APPOINTMENTS.value, {}),))


def _plan_cancel(slots: Slots, conversation: Conversation) -> _Step:
    confirmation_id = slots.confirmation_id
    just_booked = conversation.turns[-1].booked if conversation.turns else None
    if confirmation_id is None and just_booked in conversation.active_bookings:
        confirmation_id = just_booked  # "cancel it" right after booking
    if confirmation_id is None and len(conversation.active_bookings) == 1:
        confirmation_id = conversation.active_bookings[0]
    if confirmation_id is None:
        return _Step(
            question="Which booking should I cancel? Please tell me its confirmation id, "
            "or ask me to show your bookings."
        )
    return _Step(calls=((Intent.CANCEL.value, {"confirmation_id": confirmation_id}),))


_PLANNERS: dict[Intent, Callable[[Slots, Conversation], _Step]] = {
    Intent.WEATHER: _plan_weather,
    Intent.ADDRESS: _plan_address,
    Intent.AVAILABILITY: _plan_availability,
    Intent.BOOKING: _plan_booking,
    Intent.LIST_DEALERSHIPS: _plan_list,
    Intent.MY_APPOINTMENTS: _plan_my_appointments,
    Intent.CANCEL: _plan_cancel,
}
