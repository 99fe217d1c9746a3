"""Trimming what the model sees: newest turns that fit, whole tool exchanges, current turn kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.messages.utils import count_tokens_approximately

import agent.trimming as context_window
from agent.trimming import trim_for_model


def plain_turn(n: int) -> list[BaseMessage]:
    return [
        HumanMessage(f"Question {n}: tell me about the SuperCar GT, please.", id=f"h{n}"),
        AIMessage(f"Answer {n}: the GT is our grand tourer, 0-100 in 3.4 s.", id=f"a{n}"),
    ]


def tool_turn(n: int) -> list[BaseMessage]:
    call = {"name": "get_weather", "args": {"city": "Miami"}, "id": f"call{n}", "type": "tool_call"}
    return [
        HumanMessage(f"Question {n}: what is the weather in Miami?", id=f"h{n}"),
        AIMessage("", tool_calls=[call], id=f"c{n}"),
        ToolMessage('{"city":"Miami","summary":"sunny, 30C"}', tool_call_id=f"call{n}", id=f"t{n}"),
        AIMessage(f"Answer {n}: it is sunny and 30C in Miami.", id=f"a{n}"),
    ]


def conversation(turns: int) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for n in range(turns):
        messages.extend(tool_turn(n) if n % 2 else plain_turn(n))
    return messages


def reference_trim(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    return trim_messages(
        messages,
        max_tokens=max_tokens,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
    )


def assert_tool_calls_whole(messages: Sequence[BaseMessage]) -> None:
    open_calls: set[str] = set()
    for message in messages:
        if isinstance(message, AIMessage):
            open_calls = {call["id"] or "" for call in message.tool_calls}
        elif isinstance(message, ToolMessage):
            assert message.tool_call_id in open_calls, "a tool result lost its call"


def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = conversation(4)
    trimmed = trim_for_model(messages, 10_000)
    assert trimmed == messages
    assert trimmed is not messages


def test_a_long_conversation_keeps_the_newest_turns_that_fit() -> None:
    messages = conversation(300)
    budget = 400
    trimmed = trim_for_model(messages, budget)

    assert trimmed == messages[-len(trimmed) :]
    assert isinstance(trimmed[0], HumanMessage)
    assert count_tokens_approximately(trimmed) <= budget
    # One more turn would not have fitted.
    start = len(messages) - len(trimmed)
    previous_turn = max(i for i in range(start) if isinstance(messages[i], HumanMessage))
    assert count_tokens_approximately(messages[previous_turn:]) > budget
    assert trimmed[-1] is messages[-1]


@pytest.mark.parametrize("budget", [90, 130, 200, 333, 500, 1_000, 5_000])
def test_same_cut_as_trim_messages_with_start_on_human(budget: int) -> None:
    messages = conversation(120)
    expected = reference_trim(messages, budget)
    assert expected  # the current turn fits: the only case where the two differ
    assert trim_for_model(messages, budget) == expected


@pytest.mark.parametrize("budget", range(20, 400, 7))
def test_tool_calls_are_never_separated_from_their_results(budget: int) -> None:
    messages = conversation(30)
    trimmed = trim_for_model(messages, budget)
    assert isinstance(trimmed[0], HumanMessage)
    assert_tool_calls_whole(trimmed)


def test_the_current_turn_is_kept_whole_even_over_budget() -> None:
    messages = [*conversation(3), *tool_turn(99)]
    trimmed = trim_for_model(messages, 5)
    assert trimmed == tool_turn(99)
    assert reference_trim(messages, 5) == []  # what plain trim_messages would have sent


def test_the_mid_turn_call_after_a_tool_result_keeps_that_turn() -> None:
    messages = [*conversation(10), *tool_turn(10)[:3]]  # the model is about to answer the tool
    trimmed = trim_for_model(messages, 60)
    assert trimmed[-3:] == tool_turn(10)[:3]
    assert isinstance(trimmed[0], HumanMessage)
    assert_tool_calls_whole(trimmed)


def test_the_saved_conversation_is_not_changed() -> None:
    messages = conversation(50)
    before = [message.model_copy(deep=True) for message in messages]
    trim_for_model(messages, 100)
    assert messages == before


def test_without_any_customer_message_nothing_is_cut() -> None:
    messages: list[BaseMessage] = [AIMessage("Welcome to SuperCar!", id="w")] * 20
    assert trim_for_model(messages, 10) == messages


def test_an_empty_conversation_stays_empty() -> None:
    assert trim_for_model([], 100) == []


@pytest.mark.parametrize("budget", [0, -5])
def test_a_budget_below_one_token_is_refused(budget: int) -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        trim_for_model(conversation(2), budget)


def test_work_grows_with_what_is_kept_not_with_the_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted: list[int] = []

    def counting(messages: Any, **kwargs: Any) -> int:
        messages = list(messages)
        counted.append(len(messages))
        return count_tokens_approximately(messages, **kwargs)

    monkeypatch.setattr(context_window, "count_tokens_approximately", counting)
    trim_for_model(conversation(5_000), 300)
    assert sum(counted) < 500  # the history holds 15,000 messages
