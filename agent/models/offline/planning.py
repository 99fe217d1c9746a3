"""Planning the offline model's reply to a customer message: tool calls, a goal, or one question.

Each intent has a planner that calls its tool only with every detail; a missing detail becomes a
question, and details from related earlier turns fill the gaps. Bookings, moves and cancellations
become a goal (`flow`) that takes several tool steps within the turn, as a salesperson would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from agent.models.offline.conversation import (
    AFFIRMATIVE,
    NEGATIVE,
    Booking,
    Conversation,
    ToolCallSpec,
    follow_up_intents,
    history_slots,
)
from agent.models.offline.flow import BookGoal, Goal, LookupGoal, first_step, moved, recap
from agent.models.offline.intents import Intent, understand
from agent.models.offline.parsing import Slots, extract_slots, read_text
from agent.models.offline.phrasing import (
    OFFER_MORE,
    dealership_label,
    human_date,
    join,
    we_have,
)
from agent.models.offline.questions import (
    SPANISH_REPLY,
    booking_subject,
    catalog_answer,
    has_date,
    mentions_money,
    missing_question,
    small_talk,
    speaks_spanish,
    unknown_dealership_question,
)
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    GET_DEALERSHIP_ADDRESS,
    GET_WEATHER,
    LIST_DEALERSHIPS,
    LIST_MY_APPOINTMENTS,
)

_MAX_PARALLEL_CALLS = 3
FORECAST_DAYS = 7
"""How far ahead a weather forecast reaches (today included)."""
_CANNOT = {
    Intent.WEATHER: "check the weather",
    Intent.ADDRESS: "look up dealership addresses",
    Intent.AVAILABILITY: "check free test-drive times",
    Intent.BOOKING: "book test drives",
    Intent.VISIT: "check free test-drive times",
    Intent.MOVE: "move bookings",
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
class Plan:
    """The reply to a customer message, the goal it starts, and notes for the final answer."""

    reply: Reply
    goal: Goal | None = None
    notes: tuple[str, ...] = ()
    window: str | None = None
    """The part of the day ("morning") the customer asked about: free times are shown for it."""


@dataclass(frozen=True)
class _Step:
    """What one request needs: tool calls, a goal, a question, or a note for the answer."""

    calls: tuple[ToolCallSpec, ...] = ()
    question: str = ""
    goal: Goal | None = None
    notes: tuple[str, ...] = field(default=())
    window: str | None = None


def plan_reply(text: str, conversation: Conversation) -> Plan:
    """Plans the reply to the customer's last message.

    Args:
        text: The customer's last message.
        conversation: The conversation before it.

    Returns:
        Tool calls (and the goal they start) when every request has its details, the first
        question otherwise, small talk for a message that asks for nothing, or an apology for
        tools that are not bound.
    """
    facts = conversation.facts
    whole = extract_slots(text, facts)
    said = read_text(text, facts)
    if speaks_spanish(said):
        return Plan(Reply(text=SPANISH_REPLY))
    if catalog := catalog_answer(said, whole, facts):
        return Plan(Reply(text=catalog))
    pending = conversation.pending_change()
    if pending and NEGATIVE.match(said):
        kept = extract_slots(conversation.last_ai_text, facts).confirmation_id
        booking = f"your booking {kept}" if kept else "your booking"
        return Plan(Reply(text=f"No problem, I kept {booking} as it is. {OFFER_MORE}"))
    requests = understand(text, facts)
    if not requests and not mentions_money(text):
        requests = [(i, Slots()) for i in follow_up_intents(text, whole, conversation)]
    if not requests:
        return Plan(Reply(text=small_talk(said, whole, facts)))
    intents = [intent for intent, _ in requests]
    if Intent.AVAILABILITY in intents and Intent.BOOKING in intents and not whole.time:
        # "Can I book at Miami tomorrow? What times are free?": the free times answer it.
        requests = [(i, s) for i, s in requests if i is not Intent.BOOKING]

    calls: list[ToolCallSpec] = []
    notes: list[str] = []
    window: str | None = None
    goal: Goal | None = None
    unavailable: list[str] = []
    for intent, slots in requests:
        if intent.tool not in conversation.tool_names:
            unavailable.append(_CANNOT[intent])
            continue
        merged = history_slots(conversation, intent).overlay(whole).overlay(slots)
        if intent in (Intent.BOOKING, Intent.VISIT) and not whole.time:
            merged, question = _take_offered_time(merged, conversation)
            if question:
                return Plan(Reply(text=question))
        step = _PLANNERS[intent](merged, text, conversation)
        if step.question:
            return Plan(Reply(text=step.question))
        notes.extend(step.notes)
        window = window or step.window
        if step.goal is not None and goal is None:
            goal = step.goal
            step = _Step(calls=(*step.calls, *first_step(goal, conversation)))
        calls.extend(call for call in step.calls if call not in calls)
    if calls:
        return Plan(Reply(tool_calls=tuple(calls)), goal, tuple(notes), window)
    if unavailable:
        return Plan(Reply(text=f"Sorry, I can't {join(unavailable, 'or')} right now."))
    return Plan(Reply(text=" ".join(notes) or small_talk(said, whole, facts)))


def _take_offered_time(slots: Slots, conversation: Conversation) -> tuple[Slots, str | None]:
    """A "yes" to free times offered instead of a taken one: the one offered, or which one.

    The time asked for before is known not to be free, so it is never booked again.

    Returns:
        The slots to book with, and a question when several times were offered.
    """
    offered = conversation.offered_instead()
    if offered is None:
        return slots, None
    if offered.date is not None:
        slots = replace(slots, date=offered.date, date_needs_today=False)
    if len(offered.times) == 1:
        return replace(slots, time=offered.times[0], part_of_day=None), None
    return replace(slots, time=None), f"Which time would you like: {join(offered.times, 'or')}?"


def _booking_args(slots: Slots) -> dict[str, str]:
    return {
        "dealership_id": slots.dealership_ids[0],
        "date": slots.date or "",
        "time": slots.time or "",
        "car_model": slots.car_model or "",
    }


def _model_elsewhere(slots: Slots, conversation: Conversation) -> str:
    """A question when the chosen model is not offered at the chosen dealership, else ""."""
    facts = conversation.facts
    dealership = facts.dealership(slots.dealership_ids[0]) if slots.dealership_ids else None
    if dealership is None or not slots.car_model or slots.car_model in dealership.models:
        return ""
    elsewhere = [d.city for d in facts.dealerships if slots.car_model in d.models]
    where = f" You can test drive it in {join(elsewhere)}." if elsewhere else ""
    return (
        f"Sorry, the {slots.car_model} is not available for test drives at {dealership.name}; "
        f"there you can drive the {join(dealership.models, 'or')}.{where} Which would you like?"
    )


def _plan_booking(slots: Slots, text: str, conversation: Conversation) -> _Step:
    return _booking_step(slots, conversation, offer_only=False)


def _plan_visit(slots: Slots, text: str, conversation: Conversation) -> _Step:
    return _booking_step(slots, conversation, offer_only=True)


def _booking_step(slots: Slots, conversation: Conversation, *, offer_only: bool) -> _Step:
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
    if len(slots.dealership_ids) > 1:  # "the GT in Miami at 10 and the Volt in Dallas at 3"
        names = [dealership_label(i, facts) for i in slots.dealership_ids]
        return _Step(
            question=f"I book one test drive at a time. Which would you like first: "
            f"{join(names, 'or')}?"
        )
    if set(missing) <= {"time", "model"} and "time" in missing and slots.part_of_day:
        # "friday morning": show the free times of that morning, as a salesperson would.
        return _plan_availability(slots, "", conversation)
    if offer_only and missing == ["model"]:
        missing = []  # "can I come Monday at 3?": check first, the model can come with the yes
    if missing:
        subject = booking_subject(slots, facts)
        return _Step(question=missing_question(missing, subject, slots, facts))
    if question := _model_elsewhere(slots, conversation):
        return _Step(question=question)
    return _Step(goal=BookGoal(_booking_args(slots), offer_only=offer_only))


def _plan_availability(slots: Slots, text: str, conversation: Conversation) -> _Step:
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
            (CHECK_APPOINTMENT_AVAILABILITY, {"dealership_id": dealership_id, "date": slots.date})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        ),
        window=slots.part_of_day,
    )


def _plan_address(slots: Slots, text: str, conversation: Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=unknown_dealership_question(slots.unknown_dealership, facts))
    if not slots.dealership_ids:
        question = f"Which dealership would you like the address of? {we_have(facts)}"
        return _Step(question=question.strip())
    return _Step(
        calls=tuple(
            (GET_DEALERSHIP_ADDRESS, {"dealership_id": dealership_id})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        )
    )


def _plan_weather(slots: Slots, text: str, conversation: Conversation) -> _Step:
    facts = conversation.facts
    cities = slots.cities or tuple(
        dealership.city if (dealership := facts.dealership(i)) else i.replace("-", " ").title()
        for i in slots.dealership_ids
    )
    if not cities:
        return _Step(question="Which city would you like the weather for?")
    cities = cities[:_MAX_PARALLEL_CALLS]
    today = facts.today
    day = date.fromisoformat(slots.date) if slots.date and has_date(slots) else None
    if day is None or today is None or day == today:
        return _Step(calls=tuple((GET_WEATHER, {"city": city}) for city in cities))
    if conversation.weather_takes_date and today < day < today + timedelta(days=FORECAST_DAYS):
        return _Step(
            calls=tuple((GET_WEATHER, {"city": c, "date": day.isoformat()}) for c in cities)
        )
    reach = "today's weather" if not conversation.weather_takes_date else "a week ahead"
    note = (
        f"I can only see {reach}, not a forecast for {human_date(day.isoformat())}; "
        "here is the weather now."
    )
    return _Step(calls=tuple((GET_WEATHER, {"city": city}) for city in cities), notes=(note,))


def _plan_list(slots: Slots, text: str, conversation: Conversation) -> _Step:
    return _Step(calls=((LIST_DEALERSHIPS, {"city": slots.area} if slots.area else {}),))


def _plan_my_appointments(slots: Slots, text: str, conversation: Conversation) -> _Step:
    return _Step(calls=((LIST_MY_APPOINTMENTS, {}),))


def _target(slots: Slots, conversation: Conversation, *, moving: bool) -> Booking | None:
    """The booking "it" means: named by id or details, else the last one booked."""
    if slots.confirmation_id:
        return conversation.booking(slots.confirmation_id) or Booking(
            slots.confirmation_id, "", "", "", ""
        )
    active = conversation.active_bookings
    mentioned = extract_slots(conversation.last_ai_text, conversation.facts).confirmation_id
    last_named = conversation.booking(mentioned)
    filters = {
        "dealership_id": slots.dealership_ids[0] if slots.dealership_ids else None,
        "model": slots.car_model,
        **({} if moving else {"date": slots.date, "time": slots.time}),
    }
    wanted = {key: value for key, value in filters.items() if value}
    matching = [b for b in active if all(getattr(b, k) == v for k, v in wanted.items())]
    if wanted and len(matching) == 1:
        return matching[0]
    if wanted and not moving:
        return None
    if last_named is not None and last_named.active:  # the booking the last answer was about
        return last_named
    return conversation.last_booked or (active[0] if len(active) == 1 else None)


def _plan_cancel(slots: Slots, text: str, conversation: Conversation) -> _Step:
    said = read_text(text, conversation.facts)
    if conversation.pending_change() == "cancel" and AFFIRMATIVE.match(said):
        confirmed = extract_slots(conversation.last_ai_text, conversation.facts).confirmation_id
        if confirmed:
            return _Step(calls=((CANCEL_APPOINTMENT, {"confirmation_id": confirmed}),))
    explicit = extract_slots(text, conversation.facts).confirmation_id
    if explicit:  # the customer named the booking: nothing was inferred, nothing to recap
        return _Step(calls=((CANCEL_APPOINTMENT, {"confirmation_id": explicit}),))
    target = _target(slots, conversation, moving=False)
    if target is None:
        return _Step(goal=LookupGoal("cancel", slots))
    return _Step(question=recap("cancel", target, slots, conversation))


def _plan_move(slots: Slots, text: str, conversation: Conversation) -> _Step:
    said = read_text(text, conversation.facts)
    facts = conversation.facts
    if conversation.pending_change() == "move" and AFFIRMATIVE.match(said):
        old = conversation.booking(extract_slots(conversation.last_ai_text, facts).confirmation_id)
        if old and old.active:
            new = moved(old, slots)
            if question := _model_elsewhere(new, conversation):
                return _Step(question=question)
            args = {**_booking_args(new), "replaces": old.confirmation_id}
            return _Step(goal=BookGoal(args, offer_only=False, replaces=old))
    target = _target(slots, conversation, moving=True)
    if target is None and not conversation.active_bookings and _booking_in_progress(conversation):
        return _booking_step(slots, conversation, offer_only=False)  # "make it 4pm" before booking
    if target is None:
        return _Step(goal=LookupGoal("move", slots))
    return _Step(question=recap("move", target, slots, conversation))


def _booking_in_progress(conversation: Conversation) -> bool:
    last = conversation.turns[-1].intents if conversation.turns else ()
    return bool({Intent.BOOKING, Intent.VISIT, Intent.AVAILABILITY}.intersection(last))


_PLANNERS: dict[Intent, Callable[[Slots, str, Conversation], _Step]] = {
    Intent.WEATHER: _plan_weather,
    Intent.ADDRESS: _plan_address,
    Intent.AVAILABILITY: _plan_availability,
    Intent.BOOKING: _plan_booking,
    Intent.VISIT: _plan_visit,
    Intent.MOVE: _plan_move,
    Intent.LIST_DEALERSHIPS: _plan_list,
    Intent.MY_APPOINTMENTS: _plan_my_appointments,
    Intent.CANCEL: _plan_cancel,
}
