"""The plain-text answers the offline model gives from ToolMessages, for successes and errors.

Each tool has its own answer from the documented JSON; the reply ends with at most one offer that
moves the customer toward a test drive. Answering never calls tools again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage

from agent.models.offline.conversation import dicts, json_object, message_text
from agent.models.offline.dates import PARTS_OF_DAY
from agent.models.offline.facts import Facts
from agent.models.offline.intents import Intent
from agent.models.offline.phrasing import (
    OFFER_MORE,
    OFFER_RETRY,
    OFFER_SLOT,
    OFFER_TEST_DRIVE,
    OFFER_THERE,
    dealership_label,
    human_date,
    join,
    sentence,
    we_have,
)
from tools.bookings import TOO_MANY_FROM_CLIENT
from tools.content import FOR_THE_MODEL

_FAILED = {
    Intent.WEATHER.value: "Sorry, I couldn't get the weather",
    Intent.ADDRESS.value: "Sorry, I couldn't find that dealership",
    Intent.AVAILABILITY.value: "Sorry, I couldn't check the free times",
    Intent.BOOKING.value: "Sorry, I couldn't book that test drive",
    Intent.LIST_DEALERSHIPS.value: "Sorry, I couldn't list our dealerships",
    Intent.MY_APPOINTMENTS.value: "Sorry, I couldn't look up your bookings",
    Intent.CANCEL.value: "Sorry, I couldn't cancel that booking",
}


def error_text(content: str) -> str:
    """The customer-facing part of an error ToolMessage, also from ToolNode's default format.

    A note meant for the model (after `FOR_THE_MODEL`) is left out: the customer reads the rest.
    """
    text = re.sub(r"^Error:\s*", "", " ".join(content.split()))
    text = re.sub(r"\s*Please fix (?:your mistakes|the error and try again)\.?$", "", text)
    if wrapped := re.fullmatch(r"\w+\((['\"])(.*)\1\)", text):  # repr() of the exception
        text = wrapped.group(2)
    text = text.split(FOR_THE_MODEL.strip(), 1)[0].strip()
    return sentence(text) or "Something went wrong."


Answer = Callable[[dict[str, Any], dict[str, Any], Facts], str]


def _answer_summary(data: dict[str, Any], args: dict[str, Any], facts: Facts) -> str:
    return sentence(data["summary"]) if isinstance(data.get("summary"), str) else ""


def _answer_availability(
    data: dict[str, Any], args: dict[str, Any], facts: Facts, window: str | None = None
) -> str:
    dealership_id = str(data.get("dealership_id") or args.get("dealership_id") or "")
    name = dealership_label(dealership_id, facts) if dealership_id else "The dealership"
    day = human_date(str(data.get("date") or args.get("date") or ""))
    times = [t for t in data.get("available_times") or [] if isinstance(t, str)]
    if times and window in PARTS_OF_DAY:
        start, end = PARTS_OF_DAY[window]
        within = [t for t in times if start <= t < end]
        if within:
            return f"{name} has free test-drive times on {day} {_in_the(window)}: {join(within)}."
        return (
            f"{name} has nothing free on {day} {_in_the(window)}; the free times that day are "
            f"{join(times)}."
        )
    if times:
        return f"{name} has free test-drive times on {day}: {join(times)}."
    note = f" {sentence(data['note'])}" if isinstance(data.get("note"), str) else ""
    return f"Sorry, {name} has no free test-drive times on {day}.{note}"


def _in_the(window: str) -> str:
    return f"in the {window}"


def _answer_booking(data: dict[str, Any], args: dict[str, Any], facts: Facts) -> str:
    return booking_answer(data)


def booking_answer(data: dict[str, Any]) -> str:
    """The confirmation of a booking from schedule_appointment's JSON, with its id."""
    message = sentence(data["message"]) if isinstance(data.get("message"), str) else ""
    if not message:
        where = data.get("dealership_name") or data.get("dealership_id")
        message = (
            f"Your test drive of the {data.get('model')} at {where} on {data.get('date')} at "
            f"{data.get('time')} is booked."
        )
    confirmation_id = data.get("confirmation_id")
    if isinstance(confirmation_id, str) and confirmation_id not in message:
        message += f" Your confirmation id is {confirmation_id}."
    return message


def _answer_dealerships(data: dict[str, Any], args: dict[str, Any], facts: Facts) -> str:
    dealerships = dicts(data.get("dealerships"))
    where = f" in {args['city']}" if args.get("city") else ""
    if not dealerships:
        return f"Sorry, I couldn't find a SuperCar dealership{where}. {we_have(facts)}".strip()
    names = [f"{d.get('name')} ({d.get('address') or d.get('city')})" for d in dealerships]
    count = "one dealership" if len(names) == 1 else f"{len(names)} dealerships"
    return f"We have {count}{where}: {join(names)}."


def _answer_appointments(data: dict[str, Any], args: dict[str, Any], facts: Facts) -> str:
    appointments = dicts(data.get("appointments"))
    active = [a for a in appointments if a.get("status", "confirmed") != "cancelled"]
    cancelled = [a for a in appointments if a not in active]
    if not active:
        answer = "You have no test drives booked."
    else:
        count = "one test drive" if len(active) == 1 else f"{len(active)} test drives"
        answer = f"You have {count} booked: {join([_appointment(a) for a in active])}."
    if cancelled:
        answer += f" Cancelled: {join([_appointment(a) for a in cancelled])}."
    return answer


def _appointment(a: dict[str, Any]) -> str:
    where = a.get("dealership_name") or a.get("dealership_id")
    when = f"{a.get('date')} at {a.get('time')}"
    return f"the {a.get('model')} at {where} on {when} ({a.get('confirmation_id')})"


def _answer_message(data: dict[str, Any], args: dict[str, Any], facts: Facts) -> str:
    return sentence(data["message"]) if isinstance(data.get("message"), str) else ""


_ANSWERS: dict[str, Answer] = {
    Intent.WEATHER.value: _answer_summary,
    Intent.ADDRESS.value: _answer_summary,
    Intent.AVAILABILITY.value: _answer_availability,
    Intent.BOOKING.value: _answer_booking,
    Intent.LIST_DEALERSHIPS.value: _answer_dealerships,
    Intent.MY_APPOINTMENTS.value: _answer_appointments,
    Intent.CANCEL.value: _answer_message,
}


def _answer_one(
    name: str,
    args: dict[str, Any],
    message: ToolMessage,
    facts: Facts,
    window: str | None = None,
) -> str:
    """The answer to one tool result: its error, its documented JSON, or what it says."""
    content = message_text(message)
    if message.status == "error":
        error = error_text(content)
        booking = name == Intent.BOOKING.value
        nothing = (
            " Nothing was booked." if booking and "nothing was booked" not in error.lower() else ""
        )
        return f"{_FAILED.get(name, 'Sorry, that did not work')}: {error}{nothing}"
    data = json_object(content)
    if name == Intent.AVAILABILITY.value and data:
        answer = _answer_availability(data, args, facts, window)
    else:
        answer = _ANSWERS[name](data, args, facts) if name in _ANSWERS and data else ""
    if answer:
        return answer
    # Unknown tool or content that is not the documented JSON: pass on what it says.
    fallback = next((str(data[key]) for key in ("summary", "message", "note") if data.get(key)), "")
    return sentence((fallback or content)[:400]) or "Done."


def _closing(results: list[tuple[str, ToolMessage]]) -> str:
    """At most one follow-up that moves the customer toward a test drive."""
    ok = {name for name, message in results if message.status != "error"}
    failed = {name for name, message in results if message.status == "error"}
    if Intent.BOOKING.value in failed:
        refusals = [message_text(m) for name, m in results if name == Intent.BOOKING.value]
        if any(TOO_MANY_FROM_CLIENT in text for text in refusals):
            return OFFER_MORE  # another slot would be refused too: no booking offer
        return OFFER_RETRY
    if {Intent.BOOKING.value, Intent.CANCEL.value} & (ok | failed):
        return ""
    if Intent.AVAILABILITY.value in ok:
        free = [
            m for name, m in results if name == Intent.AVAILABILITY.value and m.status != "error"
        ]
        if any(json_object(message_text(m)).get("available_times") for m in free):
            return OFFER_SLOT
        return "Just tell me another day and I'll check it."
    if Intent.ADDRESS.value in ok:
        return OFFER_THERE
    if Intent.MY_APPOINTMENTS.value in ok:
        listed = [m for name, m in results if name == Intent.MY_APPOINTMENTS.value]
        if any(json_object(message_text(m)).get("appointments") for m in listed):
            return ""  # they already have test drives; no need to push another
    return OFFER_TEST_DRIVE if ok else ""


def answer_results(
    results: Sequence[tuple[str, dict[str, Any], ToolMessage]],
    facts: Facts,
    *,
    window: str | None = None,
) -> tuple[list[str], str]:
    """Answers tool results in plain text; never calls tools again.

    Args:
        results: (tool name, arguments, result) in order.
        facts: The directory, for dealership names.
        window: The part of the day asked about; free times are shown for it.

    Returns:
        One answer per result, and at most one follow-up offer.
    """
    answers = [_answer_one(name, a, message, facts, window) for name, a, message in results]
    return answers, _closing([(name, message) for name, _, message in results])
