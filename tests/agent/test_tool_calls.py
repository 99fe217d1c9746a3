"""The model's tool calls as saved: glued names split, unknown names made valid, repeats dropped."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolCall

from agent.tool_calls import VALID_TOOL_NAME, normalize_tool_calls

TOOLS = frozenset({"get_weather", "schedule_appointment"})


def calls(*pairs: tuple[str, dict[str, object]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            ToolCall(name=name, args=args, id=f"call_{index}", type="tool_call")
            for index, (name, args) in enumerate(pairs)
        ],
    )


def test_arguments_glued_into_the_name_are_split_back() -> None:
    fixed = normalize_tool_calls(calls(('get_weather,{"city": "Miami"}', {})), TOOLS)
    assert [(c["name"], c["args"], c["id"]) for c in fixed.tool_calls] == [
        ("get_weather", {"city": "Miami"}, "call_0")
    ]
    spaced = normalize_tool_calls(calls(('get_weather {"city": "Dallas"}', {})), TOOLS)
    assert spaced.tool_calls[0]["args"] == {"city": "Dallas"}


def test_an_unknown_name_becomes_a_valid_one_the_tool_node_refuses() -> None:
    fixed = normalize_tool_calls(calls(("get weather<|eom|>", {"city": "Miami"})), TOOLS)
    name = fixed.tool_calls[0]["name"]
    assert VALID_TOOL_NAME.fullmatch(name) and name not in TOOLS


def test_identical_calls_in_one_step_run_once() -> None:
    booking = {"dealership_id": "miami", "date": "2026-11-26", "time": "10:00"}
    fixed = normalize_tool_calls(
        calls(
            ("schedule_appointment", booking),
            ("schedule_appointment", dict(reversed(booking.items()))),
            ("get_weather", {"city": "Miami"}),
        ),
        TOOLS,
    )
    assert [c["name"] for c in fixed.tool_calls] == ["schedule_appointment", "get_weather"]


def test_valid_calls_come_back_untouched() -> None:
    message = calls(("get_weather", {"city": "Miami"}), ("get_weather", {"city": "Dallas"}))
    assert normalize_tool_calls(message, TOOLS) is message
