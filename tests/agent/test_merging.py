"""Appending messages quickly gives what LangGraph's delta reducer gives, in every case."""

from __future__ import annotations

import random
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.graph.message import _messages_delta_reducer

from agent import merging
from agent.merging import merge_messages


def view(messages: list[AnyMessage]) -> list[tuple[str | None, str, str]]:
    return [(m.id, m.type, m.text) for m in messages]


def test_merging_matches_the_reducer_over_random_steps() -> None:
    rng = random.Random(7)
    fast: list[AnyMessage] = []
    reference: list[AnyMessage] = []
    next_id = 0
    for step in range(400):
        writes: list[object] = []
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            known = [m.id for m in reference if m.id]
            if roll < 0.7 or not known:
                next_id += 1
                writes.append([HumanMessage(f"m{next_id}", id=f"id-{next_id}")])
            elif roll < 0.8:
                writes.append(AIMessage(f"replaced at {step}", id=rng.choice(known)))
            elif roll < 0.9:
                writes.append([RemoveMessage(id=rng.choice(known))])
            else:
                writes.append({"role": "user", "content": f"dict {step}", "id": f"d-{step}"})
        before = list(fast)
        fast = merge_messages(fast, writes)
        reference = _messages_delta_reducer(reference, writes)
        assert view(fast) == view(reference)
        assert view(before) == view(merge_messages(before, [])) or not before

    # A stale list passed again (its ids moved on to the newer one) still merges correctly.
    stale = reference[:-1]
    added = [HumanMessage("late", id="late")]
    assert view(merge_messages(stale, [added])) == view(_messages_delta_reducer(stale, [added]))


def test_a_write_repeating_an_id_replaces_instead_of_appending() -> None:
    first = merge_messages([], [[HumanMessage("hi", id="a")]])
    again = merge_messages(first, [[AIMessage("x", id="b"), AIMessage("y", id="b")]])
    assert view(again) == view(_messages_delta_reducer(first, [[AIMessage("y", id="b")]]))
    assert view(first) == [("a", "human", "hi")]


def test_appending_on_two_branches_of_one_conversation_matches_the_reducer() -> None:
    start = merge_messages([], [[HumanMessage(f"m{n}", id=f"m{n}") for n in range(5)]])
    first = merge_messages(start, [[AIMessage("on the first branch", id="x")]])
    # A fork from `start` appends a message whose id only the first branch holds.
    second = merge_messages(start, [[AIMessage("on the second branch", id="x")]])
    third = merge_messages(second, [[HumanMessage("and on", id="y")]])
    expected_second = _messages_delta_reducer(start, [[AIMessage("on the second branch", id="x")]])
    assert view(second) == view(expected_second)
    assert view(third) == view(
        _messages_delta_reducer(expected_second, [[HumanMessage("and on", id="y")]])
    )
    assert view(first) == [*view(start), ("x", "ai", "on the first branch")]
    # Replacing a message still replaces it, on either branch.
    replaced = merge_messages(first, [[AIMessage("edited", id="m2")]])
    assert view(replaced) == view(_messages_delta_reducer(first, [[AIMessage("edited", id="m2")]]))


def test_a_step_applied_twice_and_replayed_never_reindexes_the_conversation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reindexed: list[int] = []

    def counted(state: list[AnyMessage], writes: list[Any]) -> list[AnyMessage]:
        reindexed.append(len(state))
        return _messages_delta_reducer(state, writes)

    start = merge_messages([], [[HumanMessage(f"m{n}", id=f"m{n}") for n in range(50)]])
    monkeypatch.setattr(merging, "_messages_delta_reducer", counted)
    question = HumanMessage("q", id="q")
    asked = merge_messages(list(start), [[question]])
    answer = AIMessage("a", id="a")
    # LangGraph applies a step's writes to a copy of the channels for the conditional edge, then
    # for real: twice onto the same conversation (each time a copy of the list).
    seen_by_the_edge = merge_messages(list(asked), [answer])
    saved = merge_messages(list(asked), [answer])
    # The next turn rebuilds the saved conversation from the turn's start and its writes.
    rebuilt = merge_messages(list(start), [[question], answer])
    assert reindexed == []
    expected = [*view(start), ("q", "human", "q"), ("a", "ai", "a")]
    assert view(seen_by_the_edge) == view(saved) == view(rebuilt) == expected


def test_an_id_appended_at_two_depths_on_two_branches_is_found_on_each() -> None:
    start = merge_messages([], [[HumanMessage(f"m{n}", id=f"m{n}") for n in range(5)]])
    shallow = merge_messages(start, [[AIMessage("x early", id="x")]])
    detour = merge_messages(start, [[HumanMessage("y", id="y")]])
    deep = merge_messages(detour, [[AIMessage("x late", id="x")]])
    for branch in (shallow, deep, detour, start):
        writes = [[AIMessage("x again", id="x")]]
        assert view(merge_messages(branch, writes)) == view(_messages_delta_reducer(branch, writes))


def test_merging_matches_the_reducer_across_forks_repeats_and_stale_lists() -> None:
    rng = random.Random(11)
    conversations: list[tuple[list[AnyMessage], list[AnyMessage]]] = [([], [])]
    ids = [f"id-{n}" for n in range(60)]
    for step in range(1500):
        fast, reference = rng.choice(conversations)  # a fork, a stale list or the newest one
        if rng.random() < 0.5:
            fast = list(fast)  # LangGraph copies the list between steps
        writes: list[object] = []
        for _ in range(rng.randint(1, 2)):
            roll = rng.random()
            if roll < 0.85:
                # Mostly new ids, sometimes one another branch (or this one) already holds.
                message_id = ids[step % len(ids)] if roll < 0.6 else rng.choice(ids)
                writes.append([AIMessage(f"s{step}", id=f"{message_id}-{step // 7}")])
            elif roll < 0.95 and reference:
                writes.append([RemoveMessage(id=str(rng.choice(reference).id))])
            else:
                writes.append(HumanMessage(f"h{step}", id=rng.choice(ids)))
        merged = merge_messages(fast, writes)
        expected = _messages_delta_reducer(reference, writes)
        assert view(merged) == view(expected), step
        if rng.random() < 0.3:
            # The same writes again onto the same conversation (the conditional edge's read).
            assert view(merge_messages(list(fast), writes)) == view(expected), step
        conversations.append((merged, expected))
        if len(conversations) > 40:
            conversations.pop(rng.randrange(len(conversations)))
