"""Repairing interrupted turns: no assistant tool call is ever left without a result."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.repair import INTERRUPTED_TOOL_RESULT, close_dangling_tool_calls, valid_model_input


def ai_calls(*ids: str) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": "schedule_appointment", "args": {}, "id": i} for i in ids],
    )


def result(call_id: str) -> ToolMessage:
    return ToolMessage(content="ok", tool_call_id=call_id, name="schedule_appointment")


def test_dangling_calls_of_the_last_assistant_message_get_error_results() -> None:
    history = [HumanMessage("book it"), ai_calls("a", "b"), result("a")]
    closing = close_dangling_tool_calls(history)
    assert [m.tool_call_id for m in closing] == ["b"]
    assert closing[0].status == "error"
    assert "do not repeat it blindly" in closing[0].text
    assert closing[0].name == "schedule_appointment"


def test_nothing_to_close_after_a_complete_turn() -> None:
    assert close_dangling_tool_calls([HumanMessage("hi"), AIMessage("hello")]) == []
    assert close_dangling_tool_calls([ai_calls("a"), result("a")]) == []
    assert close_dangling_tool_calls([]) == []


def test_valid_input_is_left_unchanged() -> None:
    history = [HumanMessage("hi"), ai_calls("a"), result("a"), AIMessage("done")]
    assert valid_model_input(history) == history


def test_missing_results_are_inserted_right_after_their_call() -> None:
    history = [HumanMessage("book"), ai_calls("a", "b"), HumanMessage("hello?")]
    repaired = valid_model_input(history)
    assert [type(m).__name__ for m in repaired] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "ToolMessage",
        "HumanMessage",
    ]
    assert [m.tool_call_id for m in repaired[2:4]] == ["a", "b"]
    assert repaired[2].text == INTERRUPTED_TOOL_RESULT


def test_results_are_put_in_call_order_and_orphans_dropped() -> None:
    history = [
        result("zombie"),
        HumanMessage("go"),
        ai_calls("a", "b"),
        result("b"),
        result("a"),
        AIMessage("both done"),
    ]
    repaired = valid_model_input(history)
    assert [getattr(m, "tool_call_id", None) for m in repaired] == [None, None, "a", "b", None]
