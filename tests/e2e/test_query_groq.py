"""The real ChatGroq path: HTTP -> graph -> ChatGroq -> stand-in Groq server -> tools -> SSE."""

from __future__ import annotations

import asyncio

import httpx
from langchain_core.messages import HumanMessage

from agent.context import Context
from api.settings import Settings
from api.studio import build_studio_graph
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import GroqStandIn, Text, ToolCall, ToolCalls
from tests.support.sse import parse_sse


def groq_settings(standin: GroqStandIn, **extra: object) -> dict[str, object]:
    return {
        "model_provider": "auto",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        **extra,
    }


def test_weather_turn_goes_through_chatgroq(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    with lex_server(**groq_settings(groq_standin)) as base_url:
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
        response = httpx.post(
            f"{base_url}/query",
            headers=OPERATOR,
            json={"query": "What's the weather in Miami?", "session_id": "groq-1"},
            timeout=30,
        )
    assert health["model"] == {
        "provider": "groq",
        "name": "llama-3.3-70b-versatile",
        "warning": None,
        "error": None,
        "resolution": {
            "requested": None,
            "answering": "llama-3.3-70b-versatile",
            "replaced": None,
            "reason": "llama-3.3-70b-versatile (the default) is served to this account",
            "fallbacks": ["openai/gpt-oss-120b", "openai/gpt-oss-20b"],
            "served_listed": True,
            "substitutions": 0,
            "fallbacks_taken": 0,
        },
    }
    events = parse_sse(response.text)
    assert [e.event for e in events[:2]] == ["tool_use", "tool_output"]
    assert events[1].json()["output"].startswith("The weather in Miami is ")
    answer = "".join(e.data for e in events if e.event == "chunk")
    assert answer.startswith("Here is what I found:") and "Miami" in answer
    assert events[-1].event == "end"

    first, second = groq_standin.chat_requests
    assert first.model == "llama-3.3-70b-versatile" and first.stream
    assert first.headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert (
        first.messages[0]["role"] == "system"
        and "Today is 2026-11-24" in first.messages[0]["content"]
    )
    assert second.messages[-1]["role"] == "tool"


def test_schema_sent_to_groq_never_offers_user_id(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(
        ToolCalls([ToolCall("list_my_appointments", {"user_id": "someone-else"})]),
        Text("You have no bookings."),
    )
    with lex_server(**groq_settings(groq_standin)) as base_url:
        response = httpx.post(
            f"{base_url}/query",
            headers=OPERATOR,
            json={"query": "my bookings", "session_id": "groq-2", "stream_format": "json"},
            timeout=30,
        )
    tools = {
        tool["function"]["name"]: tool["function"] for tool in groq_standin.chat_requests[0].tools
    }
    assert {"get_weather", "schedule_appointment", "list_my_appointments"} <= set(tools)
    for function in tools.values():
        assert "user_id" not in function["parameters"].get("properties", {})
    output = next(e.json() for e in parse_sse(response.text) if e.event == "tool_output")
    assert output["status"] == "success"
    assert output["output"]["appointments"] == []


def test_decommissioned_model_is_replaced_with_a_warning(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    with lex_server(**groq_settings(groq_standin, model_name="llama3-70b-8192")) as base_url:
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
        httpx.post(
            f"{base_url}/query",
            headers=OPERATOR,
            json={"query": "hi", "session_id": "groq-3"},
            timeout=30,
        )
    assert health["model"]["name"] == "llama-3.3-70b-versatile"
    assert "llama3-70b-8192" in health["model"]["warning"]
    assert "decommissioned" in health["model"]["warning"]
    assert groq_standin.chat_requests[0].model == "llama-3.3-70b-versatile"


def test_a_run_can_name_another_groq_model(groq_standin: GroqStandIn) -> None:
    settings = Settings(_env_file=None, **groq_settings(groq_standin))  # type: ignore[arg-type]
    graph = build_studio_graph(settings)
    groq_standin.script(Text("From the small model."), Text("From the default model."))
    small = asyncio.run(
        graph.ainvoke(
            {"messages": [HumanMessage("hi")]}, context=Context(model_name="llama-3.1-8b-instant")
        )
    )
    default = asyncio.run(graph.ainvoke({"messages": [HumanMessage("hi")]}, context=Context()))
    assert small["messages"][-1].text == "From the small model."
    assert default["messages"][-1].text == "From the default model."
    assert [r.model for r in groq_standin.chat_requests] == [
        "llama-3.1-8b-instant",
        "llama-3.3-70b-versatile",
    ]
