"""Tool calls a real model gets wrong, through ChatGroq and `POST /query`: the session survives.

Groq rejects a history holding a function name that is not `[A-Za-z0-9_-]{1,64}` (the stand-in
does too), so one glued call saved as is would make every later turn of the session fail.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.app_server import ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import GroqStandIn, Text, ToolCall, ToolCalls
from tests.support.sse import SseEvent, parse_sse

BOOKING = {
    "dealership_id": "miami",
    "date": "2026-11-26",
    "time": "10:00",
    "car_model": "SuperCar GT",
}


def on_groq(standin: GroqStandIn) -> dict[str, Any]:
    return {
        "model_provider": "groq",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        "model_fallbacks": "none",
    }


def ask(base_url: str, query: str, session_id: str) -> list[SseEvent]:
    body = {"query": query, "session_id": session_id, "stream_format": "json"}
    response = httpx.post(f"{base_url}/query", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def kinds(events: list[SseEvent]) -> list[str]:
    return [e.event for e in events]


def test_a_call_glued_into_its_name_is_repaired_and_the_session_goes_on(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(ToolCalls([ToolCall('get_weather,{"city": "Miami"}', {})]))
    with lex_server(**on_groq(groq_standin)) as base_url:
        first = ask(base_url, "weather in miami?", "glued")
        second = ask(base_url, "thanks!", "glued")
    use = next(e.json() for e in first if e.event == "tool_use")
    assert (use["name"], use["args"]) == ("get_weather", {"city": "Miami"})
    output = next(e.json() for e in first if e.event == "tool_output")
    assert output["status"] == "success"
    assert "error" not in kinds(first) and "error" not in kinds(second)
    assert second[-1].json()["status"] == "completed"


def test_a_call_to_no_tool_is_answered_as_an_error_and_the_session_goes_on(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(
        ToolCalls([ToolCall("get weather<|python_tag|>", {"city": "Miami"})]),
        Text("Sorry, let me try that differently."),
    )
    with lex_server(**on_groq(groq_standin)) as base_url:
        first = ask(base_url, "weather in miami?", "unknown-tool")
        second = ask(base_url, "ok", "unknown-tool")
    output = next(e.json() for e in first if e.event == "tool_output")
    assert output["status"] == "error"
    assert "error" not in kinds(first) and "error" not in kinds(second)
    assert second[-1].json()["status"] == "completed"


def test_identical_parallel_bookings_book_once(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(
        ToolCalls([ToolCall("schedule_appointment", BOOKING)] * 2),
        Text("Booked!"),
        ToolCalls([ToolCall("list_my_appointments", {})]),
        Text("Here they are."),
    )
    with lex_server(**on_groq(groq_standin)) as base_url:
        booked = ask(base_url, "book the GT in Miami Thursday 10:00", "double")
        listed = ask(base_url, "what did I book?", "double")
    outputs = [e.json() for e in booked if e.event == "tool_output"]
    assert [o["status"] for o in outputs] == ["success"]  # one call ran; no "slot taken"
    appointments = next(e.json() for e in listed if e.event == "tool_output")["output"]
    assert len(appointments["appointments"]) == 1
