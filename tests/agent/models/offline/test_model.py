"""The offline model: what it understands and asks, how it answers tool results and streams."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from agent.models.offline.facts import Facts, read_facts
from agent.models.offline.model import BOOKING_OFFERS, MODEL_NAME, OfflineChatModel
from agent.models.offline.parsing import extract_slots
from agent.prompts import build_system_prompt
from tools.domain.directory import DEALERSHIPS

NOW = datetime(2026, 11, 24, 19, 5, tzinfo=UTC)  # Tuesday 14:05 in New York
DIRECTORY = [
    "Dealerships (id: name, city):",
    "- miami: SuperCar Miami, Miami",
    "- los-angeles: SuperCar Los Angeles, Los Angeles",
    "- chicago: SuperCar Chicago, Chicago",
    "- dallas: SuperCar Dallas, Dallas",
    "- seattle: SuperCar Seattle, Seattle",
    "Car models: SuperCar GT, SuperCar Roadster, SuperCar Volt, SuperCar Terra",
]
SYSTEM = SystemMessage(build_system_prompt(now=NOW, timezone="America/New_York", facts=DIRECTORY))
# The directory comes as data; today's date, without a clock, from the system prompt.
FACTS = read_facts(DEALERSHIPS, now=None, timezone="America/New_York", system_texts=[SYSTEM.text])


def compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# Stand-ins for the real tools: same names and model-visible parameters as the shared spec.
@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    summary = f"The weather in {city} is sunny, 30°C, humidity 70%, wind 12 km/h."
    return compact({"city": city, "condition": "sunny", "temperature_c": 30, "summary": summary})


@tool
def get_dealership_address(dealership_id: str) -> str:
    """Address, phone and hours of a dealership."""
    if dealership_id != "miami":
        raise ToolException(f"Unknown dealership '{dealership_id}'. Known: miami.")
    summary = "SuperCar Miami, 1200 Biscayne Blvd, Miami, FL 33132. Phone: +1 (305) 555-0142."
    return compact({"dealership_id": "miami", "name": "SuperCar Miami", "summary": summary})


@tool
def check_appointment_availability(dealership_id: str, date: str) -> str:
    """Free test-drive times at a dealership on a date (YYYY-MM-DD)."""
    times = ["10:00", "11:00", "15:00"] if date != "2026-11-29" else []
    data: dict[str, Any] = {"dealership_id": dealership_id, "date": date, "available_times": times}
    if not times:
        data["note"] = "The dealership is closed on Sundays."
    return compact(data)


@tool
def schedule_appointment(dealership_id: str, date: str, time: str, car_model: str) -> str:
    """Books a test drive."""
    if time == "11:00":  # checked free a moment ago, then taken by someone else
        raise ToolException("11:00 is already taken. Free times that day: 10:00, 15:00.")
    message = f"Your {car_model} test drive at SuperCar Miami is booked for {date} at {time}."
    return compact(
        {
            "status": "confirmed",
            "confirmation_id": "SC-7K3F9Q",
            "dealership_id": dealership_id,
            "date": date,
            "time": time,
            "model": car_model,
            "message": message,
        }
    )


@tool
def list_dealerships(city: str | None = None) -> str:
    """Lists dealerships, optionally in one city or state."""
    return compact({"dealerships": [{"id": "miami", "name": "SuperCar Miami", "city": "Miami"}]})


@tool
def list_my_appointments() -> str:
    """Lists the customer's test drives."""
    return compact({"appointments": []})


@tool
def cancel_appointment(confirmation_id: str) -> str:
    """Cancels a test drive."""
    return compact({"status": "cancelled", "confirmation_id": confirmation_id, "message": "Done."})


TOOLS: list[BaseTool] = [
    get_weather,
    get_dealership_address,
    check_appointment_availability,
    schedule_appointment,
    list_dealerships,
    list_my_appointments,
    cancel_appointment,
]


def conversation(*turns: str | BaseMessage, system: SystemMessage | None = SYSTEM) -> list[Any]:
    """Builds a conversation: strings alternate customer / assistant, messages pass through."""
    messages: list[Any] = [system] if system else []
    for index, turn in enumerate(turns):
        if isinstance(turn, BaseMessage):
            messages.append(turn)
        else:
            messages.append(HumanMessage(turn) if index % 2 == 0 else AIMessage(turn))
    return messages


def reply(*turns: str | BaseMessage, tools: Sequence[BaseTool] = TOOLS) -> AIMessage:
    model = OfflineChatModel(directory=DEALERSHIPS)
    message = model.bind_tools(list(tools)).invoke(conversation(*turns))
    assert isinstance(message, AIMessage)
    return message


def only_call(message: AIMessage) -> tuple[str, dict[str, Any]]:
    assert len(message.tool_calls) == 1, message
    return message.tool_calls[0]["name"], message.tool_calls[0]["args"]


def result(call_message: AIMessage, content: str, index: int = 0, **kwargs: Any) -> ToolMessage:
    call = call_message.tool_calls[index]
    return ToolMessage(content, tool_call_id=call["id"], name=call["name"], **kwargs)


# --- understanding: one request, one tool call with the right arguments --------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What's the weather in Miami?", ("get_weather", {"city": "Miami"})),
        ("is it raining in Seattle", ("get_weather", {"city": "Seattle"})),
        ("weather in new york today", ("get_weather", {"city": "New York"})),
        ("What's the weather in São Paulo?", ("get_weather", {"city": "São Paulo"})),
        ("weather in Zürich today", ("get_weather", {"city": "Zürich"})),
        ("address of the Miami dealership", ("get_dealership_address", {"dealership_id": "miami"})),
        ("Where is SuperCar Dallas?", ("get_dealership_address", {"dealership_id": "dallas"})),
        (
            "directions to the Los Angeles dealership",
            ("get_dealership_address", {"dealership_id": "los-angeles"}),
        ),
        (
            "Is the Dallas dealership open on Sunday?",
            ("get_dealership_address", {"dealership_id": "dallas"}),
        ),
        (
            "free slots at Miami tomorrow",
            ("check_appointment_availability", {"dealership_id": "miami", "date": "2026-11-25"}),
        ),
        (
            "When can I test drive at the Chicago dealership on friday?",
            ("check_appointment_availability", {"dealership_id": "chicago", "date": "2026-11-27"}),
        ),
        (
            "Can I book at Miami tomorrow? What times are free?",
            ("check_appointment_availability", {"dealership_id": "miami", "date": "2026-11-25"}),
        ),
        ("which dealerships do you have", ("list_dealerships", {})),
        ("Do you have dealerships in Texas?", ("list_dealerships", {"city": "Texas"})),
        ("show my appointments", ("list_my_appointments", {})),
        ("What are my bookings?", ("list_my_appointments", {})),
        ("cancel appointment SC-7K3F9Q", ("cancel_appointment", {"confirmation_id": "SC-7K3F9Q"})),
        (
            "please cancel my booking sc-7k3f9q",
            ("cancel_appointment", {"confirmation_id": "SC-7K3F9Q"}),
        ),
    ],
)
def test_each_request_calls_the_right_tool(query: str, expected: tuple[str, Any]) -> None:
    message = reply(query)
    assert only_call(message) == expected
    assert message.text == ""


def booking_args(dealership_id: str, date: str, time: str, car_model: str) -> dict[str, str]:
    return {"dealership_id": dealership_id, "date": date, "time": time, "car_model": car_model}


@pytest.mark.parametrize(
    ("query", "args"),
    [
        (
            "book a test drive of the SuperCar GT at Miami on 2026-11-26 at 10:00",
            booking_args("miami", "2026-11-26", "10:00", "SuperCar GT"),
        ),
        (
            "Schedule the roadster at the Miami dealership tomorrow at 10",
            booking_args("miami", "2026-11-25", "10:00", "SuperCar Roadster"),
        ),
        (
            "I'd like to book a supercar volt in Los Angeles on Nov 26 at 3 pm",
            booking_args("los-angeles", "2026-11-26", "15:00", "SuperCar Volt"),
        ),
        (
            "reserve the SuperCarTerra at SuperCar Dallas next monday 10am",
            booking_args("dallas", "2026-11-30", "10:00", "SuperCar Terra"),
        ),
    ],
)
def test_booking_resolves_dealership_date_time_and_model(query: str, args: dict[str, str]) -> None:
    # A salesperson checks the slot first, then books it.
    assert only_call(reply(query)) == (
        "check_appointment_availability",
        {"dealership_id": args["dealership_id"], "date": args["date"]},
    )
    assert booking_after_check(query) == ("schedule_appointment", args)


def booking_after_check(query: str) -> tuple[str, dict[str, Any]]:
    """The call that follows a free-times check showing the slot free."""
    check = reply(query)
    name, args = only_call(check)
    assert name == "check_appointment_availability"
    free = check_slots(args["dealership_id"], args["date"])
    return only_call(reply(query, check, result(check, free)))


def test_booking_never_sends_a_user_id() -> None:
    _, args = only_call(reply("book the GT at Miami tomorrow at 10am for user bob"))
    assert "user_id" not in args


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-11-24"),
        ("tomorrow", "2026-11-25"),
        ("the day after tomorrow", "2026-11-26"),
        ("on friday", "2026-11-27"),
        ("next monday", "2026-11-30"),
        ("tuesday", "2026-12-01"),  # today is Tuesday: the next one is meant
        ("in 3 days", "2026-11-27"),
        ("2026-12-03", "2026-12-03"),
        ("Nov 26", "2026-11-26"),
        ("26th of November", "2026-11-26"),
        ("December 1st, 2026", "2026-12-01"),
        ("Nov 20", "2027-11-20"),  # already past this year
        ("the 3rd", "2026-12-03"),  # an ordinal alone: the next day with that number
        ("on the 24th", "2026-11-24"),  # today included
        ("Wednesday the 9th", "2026-12-09"),
        ("friday the 9th", "2027-04-09"),  # the next 9th that is a Friday wins over December
        ("this weekend", "2026-11-28"),
        ("next fri", "2026-11-27"),  # "next" is the first one after today, as for "friday"
        ("this afternoon", "2026-11-24"),
        ("in a week", "2026-12-01"),
        ("on Dec 5 at 3pm", "2026-12-05"),
        ("tomorow", "2026-11-25"),
        ("tmrw", "2026-11-25"),
    ],
)
def test_dates_resolve_from_the_system_prompt_date(text: str, expected: str) -> None:
    assert extract_slots(text, FACTS).date == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10am", "10:00"),
        ("10 a.m.", "10:00"),
        ("3 pm", "15:00"),
        ("2:30pm", "14:30"),
        ("at 10", "10:00"),
        ("at 3", "15:00"),  # showroom hours: a bare 3 is the afternoon
        ("11.30", "11:30"),
        ("12pm", "12:00"),
        ("noon", "12:00"),
        ("16:45", "16:45"),
        ("Nov 26 at 2:30pm", "14:30"),
        ("what about 6?", "18:00"),
        ("make it 4 instead", "16:00"),
        ("half past 2", "14:30"),
        ("at 11ish", "11:00"),
    ],
)
def test_times_become_24_hour_hh_mm(text: str, expected: str) -> None:
    assert extract_slots(text, FACTS).time == expected


@pytest.mark.parametrize(
    "text", ["supercar gt", "Super Car GT", "SuperCarGT", "the GT", "a super-car gt"]
)
def test_car_models_match_regardless_of_case_and_spacing(text: str) -> None:
    assert extract_slots(text, FACTS).car_model == "SuperCar GT"


def test_without_a_directory_the_named_place_is_passed_as_the_dealership_id() -> None:
    bare = Facts()
    assert extract_slots("address of the Miami dealership", bare).dealership_ids == ("miami",)
    assert extract_slots("where is SuperCar Los Angeles", bare).dealership_ids == ("los-angeles",)
    model = OfflineChatModel().bind_tools(TOOLS)
    answer = model.invoke(conversation("where is the Chicago dealership", system=None))
    assert only_call(answer) == ("get_dealership_address", {"dealership_id": "chicago"})


def test_without_todays_date_a_relative_day_gets_a_question_not_a_guess() -> None:
    model = OfflineChatModel().bind_tools(TOOLS)
    answer = model.invoke(conversation("free slots at the Miami dealership tomorrow", system=None))
    assert answer.tool_calls == []
    assert "YYYY-MM-DD" in answer.text
    explicit = model.invoke(
        conversation("free slots at the Miami dealership on 2026-11-27", system=None)
    )
    assert only_call(explicit) == (
        "check_appointment_availability",
        {"dealership_id": "miami", "date": "2026-11-27"},
    )


def test_several_requests_in_one_message_are_parallel_calls() -> None:
    message = reply("What's the weather in Miami and the address of the Miami dealership?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Miami"}),
        ("get_dealership_address", {"dealership_id": "miami"}),
    ]
    ids = [c["id"] for c in message.tool_calls]
    assert len(set(ids)) == 2 and all(i and i.startswith("call_") for i in ids)


def test_one_request_about_two_dealerships_checks_both() -> None:
    message = reply("free slots at Miami and Dallas tomorrow")
    assert [c["args"]["dealership_id"] for c in message.tool_calls] == ["miami", "dallas"]


# --- missing details: one short question, then slot filling across turns ------------------------


def test_booking_without_a_time_asks_for_the_time() -> None:
    message = reply("book a test drive of the GT at Miami tomorrow")
    assert message.tool_calls == []
    assert message.text.startswith("What time would you like")
    assert "SuperCar Miami" in message.text and "2026-11-25" in message.text
    assert message.text.count("?") == 1


def test_booking_with_nothing_asks_for_every_detail_at_once() -> None:
    message = reply("I'd like a test drive")
    assert message.tool_calls == []
    assert message.text.startswith("Which dealership, day, time and model would you like")


@pytest.mark.parametrize(
    ("query", "asks"),
    [
        ("what's the weather like?", "Which city"),
        ("what's the address of the dealership?", "Which dealership"),
        ("free slots at Miami", "Which day"),
        ("address of the Boston dealership", "couldn't find a SuperCar dealership in Boston"),
    ],
)
def test_missing_or_unknown_details_get_a_question(query: str, asks: str) -> None:
    message = reply(query)
    assert message.tool_calls == []
    assert asks in message.text


def test_answers_to_questions_fill_the_booking_across_turns() -> None:
    first = reply("book a test drive at Miami tomorrow")
    assert "time and model" in first.text
    second = reply("book a test drive at Miami tomorrow", first.text, "10am")
    assert second.tool_calls == [] and second.text.startswith("Which model")
    turns = ("book a test drive at Miami tomorrow", first.text, "10am", second.text, "the GT")
    third = reply(*turns)
    assert only_call(third) == (
        "check_appointment_availability",
        {"dealership_id": "miami", "date": "2026-11-25"},
    )
    booking = reply(*turns, third, result(third, check_slots("miami", "2026-11-25")))
    assert only_call(booking) == (
        "schedule_appointment",
        {
            "dealership_id": "miami",
            "date": "2026-11-25",
            "time": "10:00",
            "car_model": "SuperCar GT",
        },
    )


def test_a_time_after_free_slots_books_at_that_dealership_and_day() -> None:
    check = reply("free slots at Miami tomorrow")
    answered = reply(
        "free slots at Miami tomorrow", check, result(check, check_slots("miami", "2026-11-25"))
    )
    assert answered.text.endswith(BOOKING_OFFERS)
    booking = reply(
        "free slots at Miami tomorrow",
        check,
        result(check, check_slots("miami", "2026-11-25")),
        answered,
        HumanMessage("11am with the Terra please"),
    )
    assert only_call(booking) == (
        "schedule_appointment",
        {
            "dealership_id": "miami",
            "date": "2026-11-25",
            "time": "11:00",
            "car_model": "SuperCar Terra",
        },
    )


def test_yes_to_a_booking_offer_keeps_what_is_known_and_asks_the_rest() -> None:
    message = reply("free slots at Miami tomorrow", "Free times ... " + BOOKING_OFFERS[2], "yes")
    assert message.tool_calls == []
    assert "time and model" in message.text and "SuperCar Miami" in message.text


def test_a_bare_place_continues_the_previous_request() -> None:
    message = reply("weather in Miami", "The weather in Miami is sunny.", "and in Dallas?")
    assert only_call(message) == ("get_weather", {"city": "Dallas"})


def booked(query: str) -> list[BaseMessage]:
    """The messages of a booking turn: the check, its result, the booking and its result."""
    check = reply(query)
    name, args = only_call(check)
    assert name == "check_appointment_availability"
    checked = result(check, check_slots(args["dealership_id"], args["date"]))
    booking = reply(query, check, checked)
    done = result(booking, schedule_appointment.invoke(only_call(booking)[1]))
    return [check, checked, booking, done]


def test_a_new_booking_does_not_silently_reuse_a_completed_one() -> None:
    message = reply(
        "book the GT at Miami tomorrow at 10am", *booked("book the GT at Miami tomorrow at 10am"),
        AIMessage("Booked."), HumanMessage("book another test drive"),
    )  # fmt: skip
    assert message.tool_calls == []
    assert message.text.startswith("Which dealership, day, time and model")


def test_cancel_it_right_after_booking_recaps_then_cancels_that_booking() -> None:
    history = [*booked("book the GT at Miami tomorrow at 10am"), AIMessage("Booked.")]
    recap = reply(
        "book the GT at Miami tomorrow at 10am", *history, HumanMessage("actually, cancel it")
    )
    assert recap.tool_calls == []  # "it" was inferred: recap before acting
    assert "SC-7K3F9Q" in recap.text and "SuperCar Miami" in recap.text
    assert recap.text.endswith("Shall I cancel it?")
    message = reply(
        "book the GT at Miami tomorrow at 10am", *history, HumanMessage("actually, cancel it"),
        recap, HumanMessage("yes please"),
    )  # fmt: skip
    assert only_call(message) == ("cancel_appointment", {"confirmation_id": "SC-7K3F9Q"})


def test_cancelling_without_an_id_looks_the_bookings_up_instead_of_asking() -> None:
    message = reply("cancel my booking")
    assert only_call(message) == ("list_my_appointments", {})


# --- answering tool results -------------------------------------------------------------------


def check_slots(dealership_id: str, date: str) -> str:
    return str(
        check_appointment_availability.invoke({"dealership_id": dealership_id, "date": date})
    )


def test_tool_results_get_a_plain_text_answer_from_their_content() -> None:
    calls = reply("weather in Miami and the address of the Miami dealership")
    answer = reply(
        "weather in Miami and the address of the Miami dealership",
        calls,
        result(calls, get_weather.invoke({"city": "Miami"}), 0),
        result(calls, get_dealership_address.invoke({"dealership_id": "miami"}), 1),
    )
    assert answer.tool_calls == []
    assert "The weather in Miami is sunny, 30°C" in answer.text
    assert "1200 Biscayne Blvd" in answer.text
    assert "\n" not in answer.text and "*" not in answer.text


def test_free_times_are_listed_and_an_empty_day_passes_on_the_note() -> None:
    calls = reply("free slots at Miami tomorrow")
    answer = reply(
        "free slots at Miami tomorrow", calls, result(calls, check_slots("miami", "2026-11-25"))
    )
    assert "10:00, 11:00 and 15:00" in answer.text and "Wednesday 2026-11-25" in answer.text

    sunday = reply("free slots at Miami on sunday")
    empty = reply(
        "free slots at Miami on sunday", sunday, result(sunday, check_slots("miami", "2026-11-29"))
    )
    assert "no free test-drive times" in empty.text
    assert "closed on Sundays" in empty.text


def test_a_confirmed_booking_passes_on_the_message_and_confirmation_id() -> None:
    query = "book the GT at Miami tomorrow at 10am"
    answer = reply(query, *booked(query))
    assert "is booked for 2026-11-25 at 10:00" in answer.text
    assert "SC-7K3F9Q" in answer.text


def test_a_failed_booking_apologises_passes_on_the_error_and_says_nothing_was_booked() -> None:
    query = "book the GT at Miami tomorrow at 11am"
    check, checked, calls, _ = booked_until_the_booking(query)
    error = "Error: 11:00 is already taken. Free times that day: 10:00, 15:00."
    answer = reply(query, check, checked, calls, result(calls, error, status="error"))
    assert answer.tool_calls == []
    assert answer.text.startswith("Sorry")
    assert "11:00 is already taken" in answer.text
    assert "Nothing was booked." in answer.text
    assert "Error:" not in answer.text


def booked_until_the_booking(query: str) -> tuple[AIMessage, ToolMessage, AIMessage, None]:
    check = reply(query)
    _, args = only_call(check)
    checked = result(check, check_slots(args["dealership_id"], args["date"]))
    calls = reply(query, check, checked)
    assert only_call(calls)[0] == "schedule_appointment"
    return check, checked, calls, None


def test_an_error_in_toolnodes_default_format_is_cleaned_up() -> None:
    calls = reply("weather in Miami")
    error = "Error: ToolException('Weather service is down.')\n Please fix your mistakes."
    answer = reply("weather in Miami", calls, result(calls, error, status="error"))
    assert answer.text.startswith("Sorry, I couldn't get the weather: Weather service is down.")
    assert "fix your mistakes" not in answer.text


def test_content_that_is_not_json_is_passed_on() -> None:
    calls = reply("weather in Miami")
    answer = reply("weather in Miami", calls, result(calls, "Sunny and warm in Miami."))
    assert "Sunny and warm in Miami." in answer.text


def test_tool_results_lead_only_to_the_booking_they_checked_then_to_an_answer() -> None:
    query = "free slots at Miami tomorrow and book the GT at 10am"
    calls = reply("free slots at Miami tomorrow")
    checked = result(calls, check_slots("miami", "2026-11-25"))
    booking = reply(query, calls, checked)
    assert only_call(booking) == (
        "schedule_appointment", booking_args("miami", "2026-11-25", "10:00", "SuperCar GT")
    )  # fmt: skip
    done = result(booking, schedule_appointment.invoke(only_call(booking)[1]))
    answer = reply(query, calls, checked, booking, done)
    assert answer.tool_calls == [] and answer.text


# --- everything else --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["hi", "hello there", "How much is the GT?", "Do you offer financing or leasing?", "thanks!",
     "tell me a joke", "bye", "no", "?", ""],
)  # fmt: skip
def test_small_talk_is_friendly_text_without_prices(query: str) -> None:
    message = reply(query)
    assert message.tool_calls == []
    assert message.text.strip()
    assert re.search(r"\$|\d[\d,.]{3,}|dollar|per month", message.text) is None


def test_price_questions_steer_to_a_test_drive() -> None:
    assert "test drive" in reply("what does the Volt cost?").text


def test_only_bound_tools_are_called() -> None:
    message = reply("address of the Miami dealership", tools=[get_weather])
    assert message.tool_calls == []
    assert "can't look up dealership addresses" in message.text
    unbound = OfflineChatModel().invoke(conversation("weather in Miami"))
    assert unbound.tool_calls == [] and unbound.text


def test_tool_choice_none_disables_tool_calls() -> None:
    model = OfflineChatModel().bind_tools(TOOLS, tool_choice="none")
    assert model.invoke(conversation("weather in Miami")).tool_calls == []


def test_same_messages_give_the_same_reply() -> None:
    messages = conversation("weather in Miami and free slots at Dallas on friday")
    first = OfflineChatModel().bind_tools(TOOLS).invoke(messages)
    second = OfflineChatModel().bind_tools(TOOLS).invoke(messages)
    assert first.tool_calls == second.tool_calls and first.text == second.text


def test_tool_call_ids_differ_between_turns() -> None:
    first = reply("weather in Miami")
    later = reply(
        "weather in Miami",
        first,
        result(first, "sunny"),
        AIMessage("Sunny."),
        HumanMessage("weather in Miami"),
    )
    assert first.tool_calls[0]["id"] != later.tool_calls[0]["id"]


def test_metadata_names_the_offline_model() -> None:
    message = reply("hi")
    assert message.response_metadata["model_name"] == MODEL_NAME == "lex-offline"
    assert message.response_metadata["finish_reason"] == "stop"
    assert reply("weather in Miami").response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata is not None and message.usage_metadata["output_tokens"] > 0


# --- streaming --------------------------------------------------------------------------------


async def collect(
    messages: list[Any], model: OfflineChatModel | None = None
) -> list[AIMessageChunk]:
    bound = (model or OfflineChatModel()).bind_tools(TOOLS)
    return [chunk async for chunk in bound.astream(messages)]  # type: ignore[misc]


def merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


async def test_text_streams_word_by_word_and_merges_to_the_invoked_message() -> None:
    messages = conversation("hi")
    chunks = await collect(messages)
    words = [c.text for c in chunks if c.text]
    assert len(words) > 10
    assert all(w.startswith(" ") for w in words[1:])
    merged = merge(chunks)
    invoked = OfflineChatModel().bind_tools(TOOLS).invoke(messages)
    assert merged.text == invoked.text
    assert merged.usage_metadata == invoked.usage_metadata
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.response_metadata["model_name"] == "lex-offline"


async def test_tool_call_chunks_merge_into_proper_tool_calls() -> None:
    messages = conversation("What's the weather in Miami and the address of the Miami dealership?")
    chunks = await collect(messages)
    assert sum(1 for c in chunks if c.tool_call_chunks) >= 4  # name, then argument pieces
    merged = merge(chunks)
    invoked = OfflineChatModel().bind_tools(TOOLS).invoke(messages)
    assert merged.tool_calls == invoked.tool_calls
    assert [c["name"] for c in merged.tool_calls] == ["get_weather", "get_dealership_address"]
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert chunks[-1].usage_metadata == invoked.usage_metadata


def test_sync_streaming_matches_too() -> None:
    messages = conversation("free slots at Miami tomorrow")
    chunks = list(OfflineChatModel().bind_tools(TOOLS).stream(messages))
    merged = merge([c for c in chunks if isinstance(c, AIMessageChunk)])
    assert merged.tool_calls == reply("free slots at Miami tomorrow").tool_calls


async def test_token_delay_paces_the_async_stream() -> None:
    delay = 0.01
    started = time.monotonic()
    chunks = await collect(conversation("hi"), OfflineChatModel(token_delay_s=delay))
    assert time.monotonic() - started >= delay * (len(chunks) - 1)


# --- in a LangGraph graph ---------------------------------------------------------------------


def build_graph(model: OfflineChatModel) -> Any:
    bound = model.bind_tools(TOOLS)

    async def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke([SYSTEM, *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("call_model", call_model)
    builder.add_node("tools", ToolNode(TOOLS, handle_tool_errors=True))
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", tools_condition, ["tools", END])
    builder.add_edge("tools", "call_model")
    return builder.compile()


async def run_graph(query: str) -> tuple[list[AIMessageChunk], list[BaseMessage]]:
    graph = build_graph(OfflineChatModel())
    streamed: list[AIMessageChunk] = []
    async for message, _ in graph.astream(
        {"messages": [HumanMessage(query)]}, stream_mode="messages"
    ):
        if isinstance(message, AIMessageChunk):
            streamed.append(message)
    state = await graph.ainvoke({"messages": [HumanMessage(query)]})
    return streamed, state["messages"]


async def test_in_a_graph_it_calls_tools_and_streams_the_answer() -> None:
    streamed, messages = await run_graph("weather in Miami and the address of the Miami dealership")
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage", "AIMessage", "ToolMessage", "ToolMessage", "AIMessage",
    ]  # fmt: skip
    calls = messages[1]
    assert isinstance(calls, AIMessage)
    assert [c["name"] for c in calls.tool_calls] == ["get_weather", "get_dealership_address"]
    answer = messages[-1]
    assert "The weather in Miami is sunny" in answer.text and "Biscayne" in answer.text
    streamed_text = "".join(c.text for c in streamed)
    assert streamed_text == answer.text
    assert sum(1 for c in streamed if c.text) > 10
    assert any(c.tool_call_chunks for c in streamed)


async def test_in_a_graph_a_failed_booking_is_answered_not_retried() -> None:
    _, messages = await run_graph("book the GT at Miami tomorrow at 11am")
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    bookings = [m for m in tool_messages if m.name == "schedule_appointment"]
    assert len(bookings) == 1 and bookings[0].status == "error"
    answer = messages[-1]
    assert isinstance(answer, AIMessage) and not answer.tool_calls
    assert "already taken" in answer.text and "Nothing was booked." in answer.text


# --- the directory as data, the clock, the dealership's own day -------------------------------


def test_relative_days_are_the_dealerships_local_days() -> None:
    # 01:30 on Wednesday in New York is still 22:30 on Tuesday in Los Angeles.
    late = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
    model = OfflineChatModel(directory=DEALERSHIPS, clock=lambda: late).bind_tools(TOOLS)
    for query, expected in [
        ("free slots at LA tomorrow", ("los-angeles", "2026-11-25")),
        ("free slots at Miami tomorrow", ("miami", "2026-11-26")),
    ]:
        message = model.invoke([HumanMessage(query)])
        _, args = only_call(message)
        assert (args["dealership_id"], args["date"]) == expected


def test_with_a_clock_the_system_prompt_is_not_needed() -> None:
    model = OfflineChatModel(directory=DEALERSHIPS, clock=lambda: NOW).bind_tools(TOOLS)
    message = model.invoke([HumanMessage("free slots at the san fran store tomorrow")])
    assert only_call(message) == (
        "check_appointment_availability",
        {"dealership_id": "san-francisco", "date": "2026-11-25"},
    )


@tool("get_weather")
def dated_weather(city: str, date: str | None = None) -> str:
    """Weather in a city, today or on a date up to a week ahead."""
    summary = f"The forecast for {city} on {date} is sunny, 20°C."
    return compact({"city": city, "summary": summary})


def test_a_forecast_asks_the_weather_tool_for_the_day_when_it_takes_one() -> None:
    tools = [dated_weather, *TOOLS[1:]]
    message = reply("forecast for Chicago tomorrow", tools=tools)
    assert only_call(message) == ("get_weather", {"city": "Chicago", "date": "2026-11-25"})
    beyond = reply("weather in Chicago on Dec 20", tools=tools)
    assert only_call(beyond) == ("get_weather", {"city": "Chicago"})


def test_without_a_dated_weather_tool_a_forecast_comes_with_a_caveat() -> None:
    calls = reply("forecast for Chicago tomorrow")
    assert only_call(calls) == ("get_weather", {"city": "Chicago"})
    weather = get_weather.invoke({"city": "Chicago"})
    answer = reply("forecast for Chicago tomorrow", calls, result(calls, weather))
    assert answer.text.startswith("I can only see today's weather, not a forecast for Wednesday")


def answered(*turns: str | BaseMessage) -> list[BaseMessage]:
    """Runs the model on `turns`, feeding the test tools' results back until it answers in text."""
    messages: list[str | BaseMessage] = list(turns)
    by_name = {t.name: t for t in TOOLS}
    for _ in range(5):
        message = reply(*messages)
        messages.append(message)
        if not message.tool_calls:
            break
        for index, call in enumerate(message.tool_calls):
            messages.append(result(message, by_name[call["name"]].invoke(call["args"]), index))
    return [m if isinstance(m, BaseMessage) else HumanMessage(m) for m in messages]


def test_yes_to_several_times_offered_instead_of_a_taken_one_asks_which() -> None:
    offer = answered("book a test drive at Miami tomorrow at 9am with the Terra")
    assert "09:00" in offer[-1].text and offer[-1].text.endswith(BOOKING_OFFERS)
    which = reply(*offer, HumanMessage("yes"))
    assert which.tool_calls == []
    assert which.text == "Which time would you like: 10:00, 11:00 or 15:00?"
    booking = reply(*offer, HumanMessage("yes"), which, HumanMessage("10am please"))
    assert only_call(booking) == (
        "schedule_appointment",
        {
            "dealership_id": "miami",
            "date": "2026-11-25",
            "time": "10:00",
            "car_model": "SuperCar Terra",
        },
    )


def test_yes_to_one_time_offered_instead_of_a_taken_one_books_that_time() -> None:
    offer = [
        *answered("book a test drive at Miami tomorrow at 9am with the Terra")[:-1],
        AIMessage(
            "Sorry, 09:00 on Wednesday 2026-11-25 is not free at SuperCar Miami. The nearest "
            "free times that day are 15:00. Would you like me to book one of these times?"
        ),
    ]
    booking = reply(*offer, HumanMessage("yes please"))
    assert only_call(booking)[1]["time"] == "15:00"


def test_yes_to_times_offered_on_the_next_open_day_books_that_day() -> None:
    offer = answered("book the Terra at Miami on sunday at 10am")
    assert "closed on Sundays" in offer[-1].text and "Monday 2026-11-30" in offer[-1].text
    which = reply(*offer, HumanMessage("yes"))
    assert which.text.startswith("Which time would you like: ")
    booking = reply(*offer, HumanMessage("yes"), which, HumanMessage("10am"))
    assert only_call(booking) == (
        "schedule_appointment",
        {
            "dealership_id": "miami",
            "date": "2026-11-30",
            "time": "10:00",
            "car_model": "SuperCar Terra",
        },
    )
