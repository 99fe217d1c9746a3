"""A scripted, rule-based stand-in for the LLM so Lex runs with no API key and no network.

`OfflineChatModel` reads the conversation with plain rules, calls the bound tools a real model
would call and streams short plain-text answers token by token. It is deterministic, not an LLM.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.offline_parsing import (
    Intent,
    PromptFacts,
    Slots,
    extract_slots,
    normalize,
    parse_prompt_facts,
    understand,
)

logger = logging.getLogger(__name__)

MODEL_NAME = "lex-offline"

# Questions after which "yes", a time or a car model means "book it".
OFFER_TEST_DRIVE = "Would you like to book a test drive?"
OFFER_THERE = "Would you like to book a test drive there?"
OFFER_SLOT = "Would you like me to book one of these times?"
OFFER_RETRY = "Would you like to try another time or day?"
BOOKING_OFFERS = (OFFER_TEST_DRIVE, OFFER_THERE, OFFER_SLOT, OFFER_RETRY)

_LOOKBACK_TURNS = 4
_MAX_PARALLEL_CALLS = 3
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
_CANNOT = {
    Intent.WEATHER: "check the weather",
    Intent.ADDRESS: "look up dealership addresses",
    Intent.AVAILABILITY: "check free test-drive times",
    Intent.BOOKING: "book test drives",
    Intent.LIST_DEALERSHIPS: "list our dealerships",
    Intent.MY_APPOINTMENTS: "look up your bookings",
    Intent.CANCEL: "cancel bookings",
}
_FAILED = {
    Intent.WEATHER.value: "Sorry, I couldn't get the weather",
    Intent.ADDRESS.value: "Sorry, I couldn't find that dealership",
    Intent.AVAILABILITY.value: "Sorry, I couldn't check the free times",
    Intent.BOOKING.value: "Sorry, I couldn't book that test drive",
    Intent.LIST_DEALERSHIPS.value: "Sorry, I couldn't list our dealerships",
    Intent.MY_APPOINTMENTS.value: "Sorry, I couldn't look up your bookings",
    Intent.CANCEL.value: "Sorry, I couldn't cancel that booking",
}

_AFFIRMATIVE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|please|go ahead|sounds good|let's do it|book it|"
    r"do it|absolutely|definitely)\b"
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

ToolCallSpec = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Reply:
    """One step of the model: plain text, or tool calls (name, arguments)."""

    text: str = ""
    tool_calls: tuple[ToolCallSpec, ...] = ()


def decide(messages: Sequence[BaseMessage], tool_names: frozenset[str] = frozenset()) -> Reply:
    """Decides the model's next step from the conversation alone.

    Args:
        messages: The conversation, system prompt included.
        tool_names: The tools the model may call; requests for other tools get an apology.

    Returns:
        Tool calls for a request understood with every detail, otherwise non-empty text.
    """
    facts = parse_prompt_facts(str(m.text) for m in messages if isinstance(m, SystemMessage))
    if messages and isinstance(messages[-1], ToolMessage):
        return Reply(text=_answer_tool_results(messages, facts))
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if not humans:
        return Reply(text=_small_talk("hello", Slots(), facts))
    if humans[-1] != len(messages) - 1:
        return Reply(text="Is there anything else I can help you with?")
    conversation = _read_conversation(messages, facts, tool_names)
    return _respond(_text(messages[-1]), conversation)


# --- reading the conversation -------------------------------------------------------------------


@dataclass(frozen=True)
class _Turn:
    """An earlier customer message with what was understood and done about it."""

    intents: tuple[Intent, ...]
    slots: Slots
    booked: str | None
    """Confirmation id of a booking this turn made, if any."""


@dataclass(frozen=True)
class _Conversation:
    facts: PromptFacts
    turns: tuple[_Turn, ...]
    last_ai_text: str
    active_bookings: tuple[str, ...]
    tool_names: frozenset[str]


def _text(message: BaseMessage) -> str:
    return " ".join(str(message.text).split())


def _read_conversation(
    messages: Sequence[BaseMessage], facts: PromptFacts, tool_names: frozenset[str]
) -> _Conversation:
    """Reads every turn before the last customer message."""
    earlier = messages[:-1]
    starts = [i for i, m in enumerate(earlier) if isinstance(m, HumanMessage)]
    ends = [*starts[1:], len(earlier)][: len(starts)]
    turns = tuple(
        _read_turn(_text(earlier[start]), earlier[start + 1 : end], facts)
        for start, end in zip(starts, ends, strict=True)
    )
    last_ai_text = next(
        (_text(m) for m in reversed(earlier) if isinstance(m, AIMessage) and _text(m)), ""
    )
    return _Conversation(facts, turns, last_ai_text, _active_bookings(earlier), tool_names)


def _read_turn(text: str, replies: Sequence[BaseMessage], facts: PromptFacts) -> _Turn:
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
            and isinstance(confirmation_id := _json_object(_text(m)).get("confirmation_id"), str)
        ),
        None,
    )
    return _Turn(intents, extract_slots(text, facts).overlay(_slots_from_calls(calls)), booked)


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
        data = _json_object(_text(message))
        entries = [data] if message.name != Intent.MY_APPOINTMENTS.value else []
        entries += _dicts(data.get("appointments"))
        for entry in entries:
            confirmation_id = entry.get("confirmation_id")
            if not isinstance(confirmation_id, str):
                continue
            if entry.get("status") == "cancelled" or message.name == Intent.CANCEL.value:
                active.pop(confirmation_id, None)
            else:
                active[confirmation_id] = None
    return tuple(active)


def _history_slots(conversation: _Conversation, intent: Intent) -> Slots:
    """Details an earlier related request gave ("free slots at Miami tomorrow", then "book 10am").

    Walks back over recent turns until one is about something else; a new booking does not reuse
    the details of a booking already made.
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


def _follow_up_intents(text: str, slots: Slots, conversation: _Conversation) -> list[Intent]:
    """What a message without cue words continues: "10am", "yes", "what about Dallas?"."""
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


# --- deciding what to do ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """What one request needs: tool calls, or a question for the missing details."""

    calls: tuple[ToolCallSpec, ...] = ()
    question: str = ""


def _respond(text: str, conversation: _Conversation) -> Reply:
    facts = conversation.facts
    whole = extract_slots(text, facts)
    requests = understand(text, facts)
    if not requests and not _MONEY.search(normalize(text)):
        requests = [(i, Slots()) for i in _follow_up_intents(text, whole, conversation)]
    if not requests:
        return Reply(text=_small_talk(text, whole, facts))
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
        merged = _history_slots(conversation, intent).overlay(whole).overlay(slots)
        step = _PLANNERS[intent](merged, conversation)
        if step.question:
            return Reply(text=step.question)
        calls.extend(call for call in step.calls if call not in calls)
    if calls:
        return Reply(tool_calls=tuple(calls))
    return Reply(text=f"Sorry, I can't {_join(unavailable, 'or')} right now.")


def _plan_booking(slots: Slots, conversation: _Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=_unknown_dealership_question(slots.unknown_dealership, facts))
    present = {
        "dealership": bool(slots.dealership_ids),
        "day": _has_date(slots),
        "time": bool(slots.time),
        "model": bool(slots.car_model),
    }
    missing = [name for name, ok in present.items() if not ok]
    if missing:
        subject = _booking_subject(slots, facts)
        return _Step(question=_missing_question(missing, subject, slots, facts))
    args = {
        "dealership_id": slots.dealership_ids[0],
        "date": slots.date,
        "time": slots.time,
        "car_model": slots.car_model,
    }
    return _Step(calls=((Intent.BOOKING.value, args),))


def _plan_availability(slots: Slots, conversation: _Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=_unknown_dealership_question(slots.unknown_dealership, facts))
    present = {"dealership": bool(slots.dealership_ids), "day": _has_date(slots)}
    missing = [name for name, ok in present.items() if not ok]
    if missing:
        where = slots.dealership_ids[:1]
        subject = " me to check" + (f" at {_dealership_label(where[0], facts)}" if where else "")
        return _Step(question=_missing_question(missing, subject, slots, facts))
    return _Step(
        calls=tuple(
            (Intent.AVAILABILITY.value, {"dealership_id": dealership_id, "date": slots.date})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        )
    )


def _plan_address(slots: Slots, conversation: _Conversation) -> _Step:
    facts = conversation.facts
    if slots.unknown_dealership:
        return _Step(question=_unknown_dealership_question(slots.unknown_dealership, facts))
    if not slots.dealership_ids:
        question = f"Which dealership would you like the address of? {_we_have(facts)}"
        return _Step(question=question.strip())
    return _Step(
        calls=tuple(
            (Intent.ADDRESS.value, {"dealership_id": dealership_id})
            for dealership_id in slots.dealership_ids[:_MAX_PARALLEL_CALLS]
        )
    )


def _plan_weather(slots: Slots, conversation: _Conversation) -> _Step:
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


def _plan_list(slots: Slots, conversation: _Conversation) -> _Step:
    return _Step(
        calls=((Intent.LIST_DEALERSHIPS.value, {"city": slots.area} if slots.area else {}),)
    )


def _plan_my_appointments(slots: Slots, conversation: _Conversation) -> _Step:
    return _Step(calls=((Intent.MY_APPOINTMENTS.value, {}),))


def _plan_cancel(slots: Slots, conversation: _Conversation) -> _Step:
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


_PLANNERS: dict[Intent, Callable[[Slots, _Conversation], _Step]] = {
    Intent.WEATHER: _plan_weather,
    Intent.ADDRESS: _plan_address,
    Intent.AVAILABILITY: _plan_availability,
    Intent.BOOKING: _plan_booking,
    Intent.LIST_DEALERSHIPS: _plan_list,
    Intent.MY_APPOINTMENTS: _plan_my_appointments,
    Intent.CANCEL: _plan_cancel,
}


# --- questions and small talk -------------------------------------------------------------------


def _join(items: Sequence[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _has_date(slots: Slots) -> bool:
    return slots.date is not None and not slots.date_needs_today


def _dealership_label(dealership_id: str, facts: PromptFacts) -> str:
    dealership = facts.dealership(dealership_id)
    return dealership.name if dealership else dealership_id.replace("-", " ").title()


def _human_date(iso: str) -> str:
    try:
        return f"{date.fromisoformat(iso):%A} {iso}"
    except ValueError:
        return iso


def _we_have(facts: PromptFacts) -> str:
    cities = [d.city for d in facts.dealerships]
    return f"We have dealerships in {_join(cities)}." if cities else ""


def _unknown_dealership_question(name: str, facts: PromptFacts) -> str:
    choices = f" {_we_have(facts)}" if facts.dealerships else ""
    return f"I couldn't find a SuperCar dealership in {name}.{choices} Which one would you like?"


def _booking_subject(slots: Slots, facts: PromptFacts) -> str:
    subject = " for your test drive"
    if slots.car_model:
        subject += f" of the {slots.car_model}"
    if slots.dealership_ids:
        subject += f" at {_dealership_label(slots.dealership_ids[0], facts)}"
    if _has_date(slots) and slots.date:
        subject += f" on {_human_date(slots.date)}"
    return subject


def _missing_question(missing: list[str], subject: str, slots: Slots, facts: PromptFacts) -> str:
    """One short question naming every missing detail, followed by the choices or an example."""
    opening = "What time" if missing == ["time"] else f"Which {_join(missing)}"
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
        "dealership": _we_have(facts),
        "day": explicit_date if needs_explicit else _date_example(facts.today),
        "time": "For example 10:00 or 3 pm.",
        "model": f"Our models are the {_join(facts.car_models)}." if facts.car_models else "",
    }
    if "day" in missing and "time" in missing and not needs_explicit:
        hints["day"], hints["time"] = "", "For example tomorrow at 10:00."
    return " ".join(hints[name] for name in missing if hints[name])


def _date_example(today: date | None) -> str:
    sample = f" or {(today + timedelta(days=2)).isoformat()}" if today else ""
    return f"For example tomorrow, Friday{sample}."


def _small_talk(text: str, slots: Slots, facts: PromptFacts) -> str:
    """A friendly answer to anything that is not a request; it never quotes prices."""
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


# --- answering from tool results ----------------------------------------------------------------


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else f"{text}."


def _error_text(content: str) -> str:
    """The customer-facing part of an error ToolMessage, also from ToolNode's default format."""
    text = re.sub(r"^Error:\s*", "", " ".join(content.split()))
    text = re.sub(r"\s*Please fix (?:your mistakes|the error and try again)\.?$", "", text)
    if wrapped := re.fullmatch(r"\w+\((['\"])(.*)\1\)", text):  # repr() of the exception
        text = wrapped.group(2)
    return _sentence(text) or "Something went wrong."


Answer = Callable[[dict[str, Any], dict[str, Any], PromptFacts], str]


def _answer_summary(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    return _sentence(data["summary"]) if isinstance(data.get("summary"), str) else ""


def _answer_availability(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    dealership_id = str(data.get("dealership_id") or args.get("dealership_id") or "")
    name = _dealership_label(dealership_id, facts) if dealership_id else "The dealership"
    day = _human_date(str(data.get("date") or args.get("date") or ""))
    times = [t for t in data.get("available_times") or [] if isinstance(t, str)]
    if times:
        return f"{name} has free test-drive times on {day}: {_join(times)}."
    note = f" {_sentence(data['note'])}" if isinstance(data.get("note"), str) else ""
    return f"Sorry, {name} has no free test-drive times on {day}.{note}"


def _answer_booking(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    message = _sentence(data["message"]) if isinstance(data.get("message"), str) else ""
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


def _answer_dealerships(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    dealerships = _dicts(data.get("dealerships"))
    where = f" in {args['city']}" if args.get("city") else ""
    if not dealerships:
        return f"Sorry, I couldn't find a SuperCar dealership{where}. {_we_have(facts)}".strip()
    names = [f"{d.get('name')} ({d.get('address') or d.get('city')})" for d in dealerships]
    count = "one dealership" if len(names) == 1 else f"{len(names)} dealerships"
    return f"We have {count}{where}: {_join(names)}."


def _answer_appointments(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    appointments = _dicts(data.get("appointments"))
    active = [a for a in appointments if a.get("status", "confirmed") != "cancelled"]
    cancelled = [a for a in appointments if a not in active]
    if not active:
        answer = "You have no test drives booked."
    else:
        count = "one test drive" if len(active) == 1 else f"{len(active)} test drives"
        answer = f"You have {count} booked: {_join([_appointment(a) for a in active])}."
    if cancelled:
        answer += f" Cancelled: {_join([_appointment(a) for a in cancelled])}."
    return answer


def _appointment(a: dict[str, Any]) -> str:
    where = a.get("dealership_name") or a.get("dealership_id")
    when = f"{a.get('date')} at {a.get('time')}"
    return f"the {a.get('model')} at {where} on {when} ({a.get('confirmation_id')})"


def _answer_message(data: dict[str, Any], args: dict[str, Any], facts: PromptFacts) -> str:
    return _sentence(data["message"]) if isinstance(data.get("message"), str) else ""


_ANSWERS: dict[str, Answer] = {
    Intent.WEATHER.value: _answer_summary,
    Intent.ADDRESS.value: _answer_summary,
    Intent.AVAILABILITY.value: _answer_availability,
    Intent.BOOKING.value: _answer_booking,
    Intent.LIST_DEALERSHIPS.value: _answer_dealerships,
    Intent.MY_APPOINTMENTS.value: _answer_appointments,
    Intent.CANCEL.value: _answer_message,
}


def _answer_one(name: str, args: dict[str, Any], message: ToolMessage, facts: PromptFacts) -> str:
    content = _text(message)
    if message.status == "error":
        error = _error_text(content)
        booking = name == Intent.BOOKING.value
        nothing = (
            " Nothing was booked." if booking and "nothing was booked" not in error.lower() else ""
        )
        return f"{_FAILED.get(name, 'Sorry, that did not work')}: {error}{nothing}"
    data = _json_object(content)
    answer = _ANSWERS[name](data, args, facts) if name in _ANSWERS and data else ""
    if answer:
        return answer
    # Unknown tool or content that is not the documented JSON: pass on what it says.
    fallback = next((str(data[key]) for key in ("summary", "message", "note") if data.get(key)), "")
    return _sentence((fallback or content)[:400]) or "Done."


def _closing(results: list[tuple[str, ToolMessage]]) -> str:
    """At most one follow-up that moves the customer toward a test drive."""
    ok = {name for name, message in results if message.status != "error"}
    failed = {name for name, message in results if message.status == "error"}
    if Intent.BOOKING.value in failed:
        return OFFER_RETRY
    if {Intent.BOOKING.value, Intent.CANCEL.value} & (ok | failed):
        return ""
    if Intent.AVAILABILITY.value in ok:
        free = [
            m for name, m in results if name == Intent.AVAILABILITY.value and m.status != "error"
        ]
        if any(_json_object(_text(m)).get("available_times") for m in free):
            return OFFER_SLOT
        return "Just tell me another day and I'll check it."
    if Intent.ADDRESS.value in ok:
        return OFFER_THERE
    if Intent.MY_APPOINTMENTS.value in ok:
        listed = [m for name, m in results if name == Intent.MY_APPOINTMENTS.value]
        if any(_json_object(_text(m)).get("appointments") for m in listed):
            return ""  # they already have test drives; no need to push another
    return OFFER_TEST_DRIVE if ok else ""


def _answer_tool_results(messages: Sequence[BaseMessage], facts: PromptFacts) -> str:
    """Answers the trailing ToolMessages in plain text; never calls tools again."""
    start = len(messages)
    while start > 0 and isinstance(messages[start - 1], ToolMessage):
        start -= 1
    request = messages[start - 1] if start > 0 else None
    calls = {c["id"]: c for c in request.tool_calls} if isinstance(request, AIMessage) else {}
    results: list[tuple[str, ToolMessage]] = []
    answers: list[str] = []
    for message in messages[start:]:
        if not isinstance(message, ToolMessage):
            continue
        call = calls.get(message.tool_call_id)
        name = message.name or (call["name"] if call else "")
        results.append((name, message))
        answers.append(_answer_one(name, call["args"] if call else {}, message, facts))
    return " ".join([*answers, _closing(results)]).strip()


# --- the chat model -----------------------------------------------------------------------------


class OfflineChatModel(BaseChatModel):
    """Deterministic, rule-based chat model used when no Groq API key is configured.

    It understands plain-English requests for Lex's tools, asks one short question when a detail
    is missing, and answers from tool results. Use `bind_tools` as with `ChatGroq`; it only calls
    tools bound by name. It streams word by word and tool calls as `tool_call_chunks`.

    Attributes:
        model_name: Reported in response metadata; says plainly that this is not an LLM.
        token_delay_s: Pause between streamed tokens in async streaming, for demos and tests.
    """

    model_name: str = MODEL_NAME
    token_delay_s: float = Field(default=0.0, ge=0.0)

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Binds tools as OpenAI-style schemas, the way `ChatGroq` does.

        Args:
            tools: Tools, functions or schemas.
            tool_choice: "none" stops all tool calls; other values are accepted and ignored.
            **kwargs: Further arguments bound to the model.

        Returns:
            The model with the tools bound.
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _render(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> _Rendered:
        reply = decide(messages, _bound_tool_names(kwargs))
        logger.debug(
            "offline reply: %d tool call(s), %d chars", len(reply.tool_calls), len(reply.text)
        )
        return _Rendered.of(reply, messages, self.model_name)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._render(messages, kwargs).message()
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._render(messages, kwargs).chunks():
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for index, chunk in enumerate(self._render(messages, kwargs).chunks()):
            if index and self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield ChatGenerationChunk(message=chunk)


def _bound_tool_names(kwargs: dict[str, Any]) -> frozenset[str]:
    if kwargs.get("tool_choice") == "none":
        return frozenset()
    names = set()
    for tool in kwargs.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class _Rendered:
    """A reply with the ids, token counts and metadata a real provider attaches."""

    text: str
    tool_calls: tuple[tuple[str, dict[str, Any], str], ...]
    usage: UsageMetadata
    response_metadata: dict[str, Any]

    @classmethod
    def of(cls, reply: Reply, messages: Sequence[BaseMessage], model_name: str) -> _Rendered:
        text = " ".join(reply.text.split())
        # Unique within a conversation and repeatable: derived from everything said before.
        history = json.dumps([[m.type, _text(m)] for m in messages], ensure_ascii=False)
        digest = hashlib.sha256(history.encode()).hexdigest()[:12]
        calls = tuple(
            (name, args, f"call_{digest}_{index}")
            for index, (name, args) in enumerate(reply.tool_calls)
        )
        input_tokens = sum(len(re.findall(r"\w+|[^\w\s]", _text(m))) for m in messages)
        output_tokens = len(_words(text)) + sum(1 + len(_pieces(args)) for _, args, _ in calls)
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        metadata = {"finish_reason": "tool_calls" if calls else "stop", "model_name": model_name}
        return cls(text, calls, usage, metadata)

    def message(self) -> AIMessage:
        """The whole reply as one message, as `invoke` returns it."""
        return AIMessage(
            content=self.text,
            tool_calls=[tool_call(name=n, args=a, id=i) for n, a, i in self.tool_calls],
            usage_metadata=self.usage,
            response_metadata=dict(self.response_metadata),
        )

    def chunks(self) -> Iterator[AIMessageChunk]:
        """The reply as streamed: words, then each tool call's name and argument pieces."""
        for word in _words(self.text):
            yield AIMessageChunk(content=word)
        for index, (name, args, call_id) in enumerate(self.tool_calls):
            yield AIMessageChunk(
                content="",
                tool_call_chunks=[tool_call_chunk(name=name, args="", id=call_id, index=index)],
            )
            for piece in _pieces(args):
                yield AIMessageChunk(
                    content="",
                    tool_call_chunks=[tool_call_chunk(name=None, args=piece, id=None, index=index)],
                )
        yield AIMessageChunk(
            content="",
            usage_metadata=self.usage,
            response_metadata=dict(self.response_metadata),
            chunk_position="last",
        )


def _words(text: str) -> list[str]:
    """Splits text the way LLM tokens stream: each word with its leading space."""
    return re.findall(r"\s*\S+", text)


def _pieces(args: dict[str, Any]) -> list[str]:
    """Splits tool arguments (JSON) into streamed pieces, one per field."""
    parts = json.dumps(args, ensure_ascii=False).split(",")
    return [f"{part}," for part in parts[:-1]] + [parts[-1]]
