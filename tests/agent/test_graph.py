"""The agent graph with a scripted model: the tool loop, error handling, identity and guards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolRuntime

from agent.context import Context
from agent.graph import EMPTY_ANSWER_REPLY, STEP_LIMIT_REPLY, GraphOptions, compile_graph
from tests.support.scripted_model import ScriptedChatModel, calls, text

FIXED_NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # still Tuesday 18:30 in New York


@tool
async def get_weather(city: str) -> str:
    """Returns the weather in a city."""
    if city == "Atlantis":
        raise ToolException("Unknown city 'Atlantis'.")
    return f"The weather in {city} is sunny, 30°C."


@tool
async def whoami(note: str, runtime: ToolRuntime[Context, Any]) -> str:
    """Returns who the call is made for."""
    return f"{runtime.context.user_id}:{note}"


@tool
async def broken(city: str) -> str:
    """Always fails with a bug."""
    raise RuntimeError("database exploded at 0xdeadbeef")


TOOLS = [get_weather, whoami, broken]


def config(thread: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


async def run(model: ScriptedChatModel, query: str, **kwargs: Any) -> list[Any]:
    saver = InMemorySaver()
    graph = compile_graph(model, TOOLS, GraphOptions(clock=lambda: FIXED_NOW), checkpointer=saver)
    state = await graph.ainvoke(
        {"messages": [HumanMessage(query)]}, config(), context=Context(**kwargs)
    )
    saved = await graph.aget_state(config())
    assert saved.values["messages"] == state["messages"]
    return list(state["messages"])


async def test_plain_answer_is_one_model_call_and_saved() -> None:
    model = ScriptedChatModel(script=[text("Hello! Fancy a test drive?")])
    messages = await run(model, "hi")
    assert [type(m) for m in messages] == [HumanMessage, AIMessage]
    assert messages[-1].text == "Hello! Fancy a test drive?"


async def test_tool_loop_runs_the_tool_and_answers_from_its_result() -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Miami"})), text("Sunny in Miami!")]
    )
    messages = await run(model, "weather in Miami?")
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    tool_message = messages[2]
    assert tool_message.status == "success"
    assert tool_message.text == "The weather in Miami is sunny, 30°C."
    # The second model call saw the tool result.
    assert isinstance(model.received[1][-1], ToolMessage)


async def test_tool_error_becomes_an_error_tool_message_the_model_answers() -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Atlantis"})), text("I could not find it.")]
    )
    messages = await run(model, "weather in Atlantis?")
    tool_message = messages[2]
    assert tool_message.status == "error"
    assert "Unknown city 'Atlantis'" in tool_message.text
    assert messages[-1].text == "I could not find it."


async def test_unexpected_tool_failure_hides_internals_from_the_model() -> None:
    model = ScriptedChatModel(script=[calls(("broken", {"city": "x"})), text("Sorry.")])
    messages = await run(model, "break it")
    assert messages[2].status == "error"
    assert "0xdeadbeef" not in messages[2].text


async def test_bad_tool_arguments_become_an_error_tool_message() -> None:
    model = ScriptedChatModel(script=[calls(("get_weather", {"town": "Miami"})), text("Oops.")])
    messages = await run(model, "weather")
    assert messages[2].status == "error"


async def test_user_id_comes_from_the_context_not_the_model() -> None:
    model = ScriptedChatModel(
        script=[calls(("whoami", {"note": "hi", "user_id": "someone-else"})), text("Done.")]
    )
    messages = await run(model, "who am I", user_id="customer-7")
    assert messages[2].text == "customer-7:hi"


def test_injected_user_id_is_not_in_the_schema_sent_to_the_model() -> None:
    schema = whoami.tool_call_schema.model_json_schema()
    assert "user_id" not in schema["properties"]
    assert "note" in schema["properties"]


@pytest.mark.parametrize("recursion_limit", [4, 5, 6, 25])
async def test_last_step_guard_answers_politely_instead_of_raising(recursion_limit: int) -> None:
    model = ScriptedChatModel(script=[calls(("get_weather", {"city": "Miami"})) for _ in range(20)])
    saver = InMemorySaver()
    graph = compile_graph(model, TOOLS, GraphOptions(clock=lambda: FIXED_NOW), checkpointer=saver)
    state = await graph.ainvoke(
        {"messages": [HumanMessage("loop")]}, {**config(), "recursion_limit": recursion_limit}
    )
    assert state["messages"][-1].text == STEP_LIMIT_REPLY
    assert not state["messages"][-1].tool_calls


async def test_empty_answer_is_replaced_by_text() -> None:
    model = ScriptedChatModel(script=[text("")])
    messages = await run(model, "hi")
    assert messages[-1].text == EMPTY_ANSWER_REPLY


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        (
            "America/New_York",
            "Today is 2026-11-24 (Tuesday), the time is 18:30 in America/New_York.",
        ),
        ("Asia/Tokyo", "Today is 2026-11-25 (Wednesday), the time is 08:30 in Asia/Tokyo."),
    ],
)
async def test_system_prompt_carries_today_in_the_context_timezone(
    timezone: str, expected: str
) -> None:
    model = ScriptedChatModel(script=[text("ok")])
    await run(model, "what day is it", timezone=timezone)
    system = model.received[0][0]
    assert isinstance(system, SystemMessage)
    assert expected in system.text
    assert "markdown" in system.text.lower()


async def test_long_history_is_trimmed_for_the_model_but_saved_whole() -> None:
    model = ScriptedChatModel(script=[text(f"answer {i}") for i in range(6)])
    saver = InMemorySaver()
    graph = compile_graph(model, TOOLS, GraphOptions(context_tokens=60), checkpointer=saver)
    for i in range(6):
        await graph.ainvoke({"messages": [HumanMessage(f"question {i} " + "word " * 20)]}, config())
    sent = model.received[-1]
    assert isinstance(sent[0], SystemMessage)
    assert isinstance(sent[1], HumanMessage) and sent[-1].text.startswith("question 5")
    assert len(sent) < 12
    saved = (await graph.aget_state(config())).values["messages"]
    assert len(saved) == 12
