"""The conversation channel on SQLite: stored as deltas, read like a plain message list.

It is read, replayed, forked and repaired like a plain message list, in both durability modes the
service may run the graph in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.state import CompiledStateGraph

from agent.graph import CALL_MODEL, compile_graph
from checkpoints.saver import open_checkpointer
from tests.support.scripted_model import ScriptedChatModel, calls, text

DURABILITIES = ["async", "exit"]


@tool
async def get_weather(city: str) -> str:
    """Returns the weather in a city."""
    return f"The weather in {city} is sunny, 30°C."


def thread(checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable = {"thread_id": "t-1"}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    async with open_checkpointer(tmp_path / "lex.sqlite") as opened:
        yield opened


def graph_on(
    saver: AsyncSqliteSaver, *replies: AIMessage
) -> CompiledStateGraph[Any, Any, Any, Any]:
    return compile_graph(ScriptedChatModel(script=list(replies)), [get_weather], checkpointer=saver)


async def say(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    query: str,
    durability: str,
    config: dict[str, Any] | None = None,
) -> list[Any]:
    state = await graph.ainvoke(
        {"messages": [HumanMessage(query)]}, config or thread(), durability=durability
    )
    return list(state["messages"])


def stored_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        checkpoints = db.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints"
        ).fetchone()[0]
        writes = db.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()[0]
    return int(checkpoints) + int(writes)


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_storage_grows_linearly_with_the_conversation(
    saver: AsyncSqliteSaver, tmp_path: Path, durability: str
) -> None:
    long_answer = "The SuperCar GT is our grand tourer. " * 20
    graph = graph_on(saver, *[text(long_answer)] * 60)
    sizes = []
    for block in range(3):
        for n in range(20):
            await say(graph, f"Tell me more about the GT ({block}, {n})", durability)
        sizes.append(stored_bytes(tmp_path / "lex.sqlite"))
    first, second, third = sizes[0], sizes[1] - sizes[0], sizes[2] - sizes[1]
    # A full copy of the history per step would make each block of turns dearer than the last.
    assert second < first * 1.2
    assert third < first * 1.2


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_the_whole_conversation_is_read_back_after_a_restart(
    tmp_path: Path, durability: str
) -> None:
    path = tmp_path / "lex.sqlite"
    async with open_checkpointer(path) as first:
        graph = graph_on(
            first, calls(("get_weather", {"city": "Miami"})), text("Sunny."), text("Hi")
        )
        await say(graph, "Weather in Miami?", durability)
        written = await say(graph, "Thanks!", durability)
    async with open_checkpointer(path) as second:
        snapshot = await graph_on(second).aget_state(thread())
    assert snapshot.values["messages"] == written
    assert [type(m).__name__ for m in written] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
        "HumanMessage",
        "AIMessage",
    ]


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_history_lists_each_turn_with_its_conversation_so_far(
    saver: AsyncSqliteSaver, durability: str
) -> None:
    graph = graph_on(saver, text("One."), text("Two."), text("Three."))
    for query in ("1?", "2?", "3?"):
        await say(graph, query, durability)
    turn_ends = [s async for s in graph.aget_state_history(thread()) if not s.next]
    counts = [len(s.values["messages"]) for s in turn_ends]
    assert counts[:3] == [6, 4, 2]  # newest first


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_a_fork_from_an_old_turn_branches_without_touching_the_original(
    saver: AsyncSqliteSaver, durability: str
) -> None:
    graph = graph_on(saver, text("Hello!"), text("The GT."), text("The Volt, then."))
    await say(graph, "Hi", durability)
    original = await say(graph, "Which car is fastest?", durability)
    turn_ends = [s async for s in graph.aget_state_history(thread()) if not s.next]
    first_turn = next(s for s in turn_ends if len(s.values["messages"]) == 2)
    fork_id = first_turn.config["configurable"]["checkpoint_id"]

    forked = await say(graph, "Which car is electric?", durability, thread(fork_id))

    assert [m.text for m in forked] == ["Hi", "Hello!", "Which car is electric?", "The Volt, then."]
    head = await graph.aget_state(thread())
    assert head.values["messages"] == forked
    old_branch = [
        s async for s in graph.aget_state_history(thread()) if len(s.values["messages"]) == 4
    ]
    assert any(s.values["messages"] == original for s in old_branch)


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_update_state_repairs_history_by_id(saver: AsyncSqliteSaver, durability: str) -> None:
    graph = graph_on(saver, calls(("get_weather", {"city": "Miami"})), text("Sorry about that."))
    interrupted = await graph.ainvoke(
        {"messages": [HumanMessage("Weather in Miami?", id="h1")]},
        thread(),
        durability=durability,
        interrupt_before=["tools"],
    )
    call_id = interrupted["messages"][-1].tool_calls[0]["id"]
    closing = ToolMessage("Error: interrupted", tool_call_id=call_id, status="error", id="t1")
    await graph.aupdate_state(thread(), {"messages": [closing]}, as_node="tools")
    await graph.aupdate_state(
        thread(),
        {"messages": [HumanMessage("What's the weather in Miami?", id="h1")]},
        as_node=CALL_MODEL,
    )

    repaired = (await graph.aget_state(thread())).values["messages"]
    assert repaired[0].id == "h1"
    assert repaired[0].text == "What's the weather in Miami?"
    assert repaired[-1] == closing

    await graph.aupdate_state(thread(), {"messages": [RemoveMessage(id="t1")]}, as_node="tools")
    assert "t1" not in [m.id for m in (await graph.aget_state(thread())).values["messages"]]
