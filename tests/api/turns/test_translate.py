"""Graph stream to turn events, on the real graph with a scripted model."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import EMPTY_ANSWER_REPLY, STEP_LIMIT_REPLY, compile_graph
from api.stream.events import TextChunk, ToolOutput, ToolUse, TurnEvent
from api.turns.executor import STREAM_MODES
from api.turns.translate import TurnTranslator
from tests.support.scripted_model import ScriptedChatModel, calls, text


@tool(response_format="content_and_artifact")
async def get_weather(city: str) -> tuple[str, str]:
    """Returns the weather in a city."""
    if city == "Atlantis":
        raise ToolException("Unknown city 'Atlantis'.")
    card = f"The weather in {city} is sunny, 30°C, humidity 70%, wind 12 km/h."
    return json.dumps({"city": city}), card


@tool(response_format="content_and_artifact")
async def schedule_appointment(dealership_id: str, date: str, time: str, car_model: str) -> Any:
    """Books a test drive."""
    raise ToolException("That slot was just taken.")


async def translate(
    model: ScriptedChatModel, query: str = "hi"
) -> tuple[list[TurnEvent], TurnTranslator]:
    graph = compile_graph(model, [get_weather, schedule_appointment], checkpointer=InMemorySaver())
    translator = TurnTranslator()
    events: list[TurnEvent] = []
    async for part in graph.astream(
        {"messages": [HumanMessage(query)]},
        {"configurable": {"thread_id": "t"}, "recursion_limit": 6},
        context=Context(stream_tokens=True),
        stream_mode=STREAM_MODES,
        version="v2",
    ):
        events.extend(translator.feed(part))
    return events, translator


async def test_plain_answer_streams_token_by_token() -> None:
    events, _ = await translate(ScriptedChatModel(script=[text("Hello there, friend")]))
    assert [e.text for e in events if isinstance(e, TextChunk)] == ["Hello", " there,", " friend"]
    assert all(isinstance(e, TextChunk) for e in events)


async def test_tokens_reach_the_custom_stream_only_when_the_run_asks() -> None:
    # Studio streams tokens in LangGraph's messages mode: a custom copy would show each twice.
    graph = compile_graph(
        ScriptedChatModel(script=[text("Hi there")] * 2), [], checkpointer=InMemorySaver()
    )
    for asked in (False, True):
        parts = [
            part
            async for part in graph.astream(
                {"messages": [HumanMessage("hi")]},
                {"configurable": {"thread_id": f"t-{asked}"}},
                context=Context(stream_tokens=asked),
                stream_mode=["custom"],
                version="v2",
            )
        ]
        assert bool(parts) == asked
        assert all(part["type"] == "custom" for part in parts)


async def test_a_model_that_does_not_stream_is_emitted_whole() -> None:
    model = ScriptedChatModel(script=[text("Hello there, friend")], disable_streaming=True)
    events, _ = await translate(model)
    assert [e.text for e in events if isinstance(e, TextChunk)] == ["Hello there, friend"]


async def test_tool_turn_is_use_then_output_then_text() -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Miami"})), text("It is sunny in Miami.")]
    )
    events, translator = await translate(model)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "ToolUse",
        "ToolOutput",
        "TextChunk",
        "TextChunk",
        "TextChunk",
        "TextChunk",
        "TextChunk",
    ]
    use, output = events[0], events[1]
    assert use == ToolUse(id="call_0", name="get_weather", args={"city": "Miami"})
    assert isinstance(output, ToolOutput)
    assert output.id == "call_0" and output.status == "success"
    assert output.output == "The weather in Miami is sunny, 30°C, humidity 70%, wind 12 km/h."
    assert translator.tools_called == ["get_weather"]
    assert translator.usage["total_tokens"] == 30


async def test_parallel_calls_give_one_pair_per_call_in_order() -> None:
    model = ScriptedChatModel(
        script=[
            calls(("get_weather", {"city": "Miami"}), ("get_weather", {"city": "Dallas"})),
            text("Both sunny."),
        ]
    )
    events, _ = await translate(model)
    uses = [e for e in events if isinstance(e, ToolUse)]
    outputs = [e for e in events if isinstance(e, ToolOutput)]
    assert [u.id for u in uses] == ["call_0", "call_1"]
    assert [o.id for o in outputs] == ["call_0", "call_1"]
    assert "Dallas" in outputs[1].output
    assert isinstance(events[-1], TextChunk)


async def test_failed_tool_gets_an_error_card_never_null() -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Atlantis"})), text("No such city.")]
    )
    events, _ = await translate(model)
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.status == "error"
    assert output.error == "Unknown city 'Atlantis'."
    assert isinstance(output.output, str) and "Atlantis" in output.output


async def test_failed_booking_card_says_nothing_was_booked() -> None:
    args = {"dealership_id": "miami", "date": "2026-11-26", "time": "10:00", "car_model": "GT"}
    model = ScriptedChatModel(
        script=[calls(("schedule_appointment", args)), text("Sorry, that slot is gone.")]
    )
    events, _ = await translate(model)
    output = next(e for e in events if isinstance(e, ToolOutput))
    assert output.output["message"].startswith("Nothing was booked.")
    assert output.output["model"] == "GT"
    assert output.output["date"] == "2026-11-26" and output.output["time"] == "10:00"


async def test_reply_written_by_the_graph_is_emitted_whole() -> None:
    # The step guard replaces a tool call with text no model streamed.
    model = ScriptedChatModel(script=[calls(("get_weather", {"city": "Miami"})) for _ in range(5)])
    events, _ = await translate(model)
    texts = [e.text for e in events if isinstance(e, TextChunk)]
    assert texts[-1] == STEP_LIMIT_REPLY
    assert texts.count(STEP_LIMIT_REPLY) == 1


async def test_a_blank_answer_replaced_by_the_graph_still_reaches_the_client() -> None:
    events, _ = await translate(ScriptedChatModel(script=[text("\n\n")]))
    texts = [e.text for e in events if isinstance(e, TextChunk)]
    assert "".join(texts).strip() == EMPTY_ANSWER_REPLY


async def test_text_beside_tool_calls_at_the_step_limit_is_followed_by_the_reply() -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Miami"}), content="Checking") for _ in range(5)]
    )
    events, _ = await translate(model)
    texts = [e.text for e in events if isinstance(e, TextChunk)]
    assert texts[-1] == " " + STEP_LIMIT_REPLY
