"""The salesperson's flow within one turn: check first, offer near times, move in one step.

Check availability before booking; on a closed day or a taken slot offer the nearest free times;
move a booking with one booking call that names the one it replaces (the book cancels the old one
in the same step, so a customer at the booking cap can still move, and a failed move keeps it);
look bookings up instead of asking for ids.

A goal is re-derived from the conversation at every model step (the model keeps no state); the
tool results of the turn so far say which step comes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from langchain_core.messages import ToolMessage

from agent.models.offline.answers import booking_answer, error_text
from agent.models.offline.conversation import (
    Booking,
    Conversation,
    ToolCallSpec,
    bookings_in,
    json_object,
    message_text,
)
from agent.models.offline.parsing import Slots
from agent.models.offline.phrasing import (
    OFFER_BOOK,
    OFFER_MORE,
    OFFER_MOVE_INSTEAD,
    OFFER_RETRY,
    OFFER_SLOT,
    OFFER_TEST_DRIVE,
    RECAP_CANCEL,
    RECAP_MOVE,
    dealership_label,
    human_date,
    join,
    sentence,
)
from tools.bookings import CAP_REACHED, REPLACED_CONFIRMATION_ID, TOO_MANY_FROM_CLIENT
from tools.names import (
    CHECK_APPOINTMENT_AVAILABILITY,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
)

NEAREST_TIMES = 3
"""How many free times are offered instead of one that is not free."""

Change = Literal["cancel", "move"]
ToolResult = tuple[str, dict[str, Any], ToolMessage]


@dataclass(frozen=True)
class BookGoal:
    """Book a slot once a check shows it free.

    Attributes:
        args: schedule_appointment's arguments; an empty car_model is asked for with the offer.
            A move's include `replaces`, the confirmation id of the booking it replaces.
        offer_only: Check and offer ("can I come Monday at 3?"); book only after a yes.
        replaces: The booking a move replaces.
    """

    args: dict[str, str]
    offer_only: bool = False
    replaces: Booking | None = None


@dataclass(frozen=True)
class LookupGoal:
    """List the customer's bookings to find the one to cancel or move, then recap it."""

    change: Change
    slots: Slots


Goal = BookGoal | LookupGoal


@dataclass(frozen=True)
class Outcome:
    """The next step of a goal: more tool calls, or the goal's part of the final answer.

    Attributes:
        calls: Tool calls to make next.
        text: What to tell the customer once the goal is done.
        used: Tool call ids whose results the text already covers.
    """

    calls: tuple[ToolCallSpec, ...] = ()
    text: str = ""
    used: frozenset[str] = frozenset()


def first_step(goal: Goal, conversation: Conversation) -> tuple[ToolCallSpec, ...]:
    """The calls that start a goal, before any of its results are in."""
    outcome = advance(goal, [], conversation)
    return outcome.calls


def describe(booking: Booking, conversation: Conversation) -> str:
    """A booking as a salesperson says it: "the SuperCar GT at SuperCar Miami on ... at 10:00"."""
    where = dealership_label(booking.dealership_id, conversation.facts)
    model = f"the {booking.model} " if booking.model else "your test drive "
    return f"{model}at {where} on {human_date(booking.date)} at {booking.time}"


def moved(old: Booking, changes: Slots) -> Slots:
    """The booking's details with the customer's changes applied."""
    dated = changes.date is not None and not changes.date_needs_today
    return Slots(
        dealership_ids=changes.dealership_ids[:1] or (old.dealership_id,),
        date=changes.date if dated else old.date,
        time=changes.time or old.time,
        car_model=changes.car_model or old.model,
    )


def recap(change: Change, booking: Booking, changes: Slots, conversation: Conversation) -> str:
    """The recap before cancelling or moving a booking, ending with the question a yes answers."""
    if not booking.date:  # known by id only: the recap names the id
        if change == "cancel":
            return f"That is booking {booking.confirmation_id}. {RECAP_CANCEL}"
    said = f"Your test drive {booking.confirmation_id} is {describe(booking, conversation)}."
    if change == "cancel":
        return f"{said} {RECAP_CANCEL}"
    new = moved(booking, changes)
    if (new.date, new.time, new.car_model, new.dealership_ids[0]) == (
        booking.date,
        booking.time,
        booking.model,
        booking.dealership_id,
    ):
        return f"{said} Which day or time would you like instead?"
    target = Booking("", new.dealership_ids[0], new.date or "", new.time or "", new.car_model or "")
    return f"{said} I would move it to {describe(target, conversation)}. {RECAP_MOVE}"


def advance(goal: Goal, results: Sequence[ToolResult], conversation: Conversation) -> Outcome:
    """The goal's next step given the tool results of this turn so far.

    Args:
        goal: What the customer asked for.
        results: (tool name, arguments, result) of this turn, in order.
        conversation: The conversation before this turn.

    Returns:
        The calls to make next, or the text that ends the goal.
    """
    if isinstance(goal, LookupGoal):
        return _advance_lookup(goal, results, conversation)
    return _advance_booking(goal, results, conversation)


def _find(results: Sequence[ToolResult], name: str, **args: str) -> ToolResult | None:
    for result in reversed(results):
        if result[0] == name and all(result[1].get(k) == v for k, v in args.items()):
            return result
    return None


def _error(message: ToolMessage) -> str:
    return error_text(message_text(message))


def _ids(*results: ToolResult | None) -> frozenset[str]:
    return frozenset(r[2].tool_call_id for r in results if r is not None)


def _advance_booking(
    goal: BookGoal, results: Sequence[ToolResult], conversation: Conversation
) -> Outcome:
    facts = conversation.facts
    args = goal.args
    where = dealership_label(args["dealership_id"], facts)
    day = human_date(args["date"])
    keep = f" Your booking {goal.replaces.confirmation_id} stays as it is." if goal.replaces else ""
    booked = _find(results, SCHEDULE_APPOINTMENT, **args)
    if booked is not None:
        return _after_booking(goal, booked, results, conversation)
    place_day = {"dealership_id": args["dealership_id"], "date": args["date"]}
    check = _find(results, CHECK_APPOINTMENT_AVAILABILITY, **place_day)
    if check is None:
        earlier = conversation.checked.get((args["dealership_id"], args["date"]))
        if earlier is not None and args["time"] in earlier and not goal.offer_only:
            return Outcome(calls=((SCHEDULE_APPOINTMENT, args),))
        return Outcome(calls=((CHECK_APPOINTMENT_AVAILABILITY, place_day),))
    if check[2].status == "error":
        text = f"Sorry, I couldn't check the free times: {_error(check[2])}{keep}"
        return Outcome(text=text, used=_ids(check))
    data = json_object(message_text(check[2]))
    free = [t for t in data.get("available_times") or [] if isinstance(t, str)]
    if args["time"] in free:
        if goal.offer_only:
            model = f" for the {args['car_model']}" if args["car_model"] else ""
            text = f"Good news: {args['time']} on {day} is free at {where}{model}. {OFFER_BOOK}"
            if not args["car_model"]:
                models = facts.dealership(args["dealership_id"])
                lineup = join(models.models, "or") if models else ""
                text = f"Good news: {args['time']} on {day} is free at {where}. " + (
                    f"Which model would you like to drive: the {lineup}?" if lineup else OFFER_BOOK
                )
            return Outcome(text=text, used=_ids(check))
        if not args["car_model"]:
            return Outcome(text=f"{args['time']} is free. Which model would you like?")
        return Outcome(calls=((SCHEDULE_APPOINTMENT, args),))
    if free:
        nearest = _nearest(free, args["time"])
        text = (
            f"Sorry, {args['time']} on {day} is not free at {where}. The nearest free times that "
            f"day are {join(nearest)}.{keep} {OFFER_SLOT}"
        )
        return Outcome(text=text, used=_ids(check))
    note = sentence(str(data.get("note") or f"Nothing is free at {where} on {day}."))
    next_day = facts.next_open_day(args["dealership_id"], date.fromisoformat(args["date"]))
    if next_day is None:
        return Outcome(text=f"{note}{keep} Just tell me another day.", used=_ids(check))
    other = {"dealership_id": args["dealership_id"], "date": next_day.isoformat()}
    alternative = _find(results, CHECK_APPOINTMENT_AVAILABILITY, **other)
    if alternative is None:
        return Outcome(calls=((CHECK_APPOINTMENT_AVAILABILITY, other),))
    other_free = [
        t
        for t in json_object(message_text(alternative[2])).get("available_times") or []
        if isinstance(t, str)
    ]
    if not other_free:
        text = f"{note} {human_date(other['date'])} is full too.{keep} Just tell me another day."
        return Outcome(text=text, used=_ids(check, alternative))
    text = (
        f"{note} The nearest free times are on {human_date(other['date'])}: "
        f"{join(_nearest(other_free, args['time']))}.{keep} {OFFER_SLOT}"
    )
    return Outcome(text=text, used=_ids(check, alternative))


def _after_booking(
    goal: BookGoal, booked: ToolResult, results: Sequence[ToolResult], conversation: Conversation
) -> Outcome:
    check = _find(results, CHECK_APPOINTMENT_AVAILABILITY, dealership_id=goal.args["dealership_id"])
    used = _ids(booked, check)
    if booked[2].status == "error":
        error = _error(booked[2])
        old_id = goal.replaces.confirmation_id if goal.replaces else None
        keep = f" Your booking {old_id} stays as it is." if old_id and old_id not in error else ""
        text = f"Sorry, I couldn't book that test drive: {error}{keep}"
        if "nothing was booked" not in text.lower():
            text += " Nothing was booked."
        offer = OFFER_MOVE_INSTEAD if CAP_REACHED in error else OFFER_RETRY
        if TOO_MANY_FROM_CLIENT in error:  # another slot would be refused too: no booking offer
            offer = OFFER_MORE
        return Outcome(text=f"{text} {offer}", used=used)
    data = json_object(message_text(booked[2]))
    old = goal.replaces
    if old is None or data.get(REPLACED_CONFIRMATION_ID) != old.confirmation_id:
        return Outcome(text=booking_answer(data), used=used)
    # The booking's message names the booking it replaced, now cancelled.
    return Outcome(text=f"Done, your test drive is moved. {booking_answer(data)}", used=used)


def _nearest(free: Sequence[str], wanted: str) -> list[str]:
    """The free times closest to the wanted one, in clock order."""

    def minutes(hhmm: str) -> int:
        hours, _, mins = hhmm.partition(":")
        return int(hours) * 60 + int(mins or 0)

    target = minutes(wanted) if wanted else 0
    closest = sorted(free, key=lambda t: (abs(minutes(t) - target), minutes(t)))[:NEAREST_TIMES]
    return sorted(closest, key=minutes)


def _advance_lookup(
    goal: LookupGoal, results: Sequence[ToolResult], conversation: Conversation
) -> Outcome:
    listed = _find(results, LIST_MY_APPOINTMENTS)
    if listed is None:
        return Outcome(calls=((LIST_MY_APPOINTMENTS, {}),))
    used = _ids(listed)
    if listed[2].status == "error":
        return Outcome(
            text=f"Sorry, I couldn't look up your bookings: {_error(listed[2])}", used=used
        )
    bookings = [b for b in bookings_in([listed]) if b.active]
    verb = "cancel" if goal.change == "cancel" else "move"
    if not bookings:
        return Outcome(
            text=f"You have no test drives booked, so there is nothing to {verb}. "
            f"{OFFER_TEST_DRIVE}",
            used=used,
        )
    slots = goal.slots
    wanted = {
        "dealership_id": slots.dealership_ids[0] if slots.dealership_ids else None,
        "model": slots.car_model,
        **({"date": slots.date, "time": slots.time} if goal.change == "cancel" else {}),
    }
    filters = {k: v for k, v in wanted.items() if v}
    matching = [b for b in bookings if all(getattr(b, k) == v for k, v in filters.items())]
    if len(matching) == 1:
        return Outcome(text=recap(goal.change, matching[0], slots, conversation), used=used)
    listed_text = join(
        [f"{describe(b, conversation)} ({b.confirmation_id})" for b in matching or bookings]
    )
    count = len(matching or bookings)
    return Outcome(
        text=f"You have {count} test drives booked: {listed_text}. Which one would you like to "
        f"{verb}?",
        used=used,
    )
