"""The turn executor and manager on a real SQLite saver: cancellation mid-tool and repair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.graph import compile_graph
from agent.repair import INTERRUPTED_TOOL_RESULT
from api.stream.events import TurnEnd
from api.turns.executor import TurnExecutor, TurnRequest, finish_despite_cancellation, turn_config
from api.turns.manager import SessionBusy, TurnManager
from checkpoints.saver import open_checkpointer
from tests.support.scripted_model import ScriptedChatModel, calls, text

tool_started = asyncio.Event()


@tool
async def slow_booking(slot: str) -> str:
    """Books a slot, slowly."""
    tool_started.set()
    await asyncio.sleep(30)
    return f"booked {slot}"


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    async with open_checkpointer(tmp_path / "lex.sqlite") as opened:
        yield opened


def request(query: str) -> TurnRequest:
    return TurnRequest(session_id="s1", query=query, user_id="u1", timezone="America/New_York")


async def test_cancel_during_a_tool_call_closes_the_call_and_the_next_turn_works(
    saver: AsyncSqliteSaver,
) -> None:
    tool_started.clear()
    model = ScriptedChatModel(
        script=[calls(("slow_booking", {"slot": "10:00"})), text("Let me check your bookings.")]
    )
    graph = compile_graph(model, [slow_booking], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)
    manager = TurnManager()

    run = manager.start("s1", executor.for_request(request("book 10:00")))
    await asyncio.wait_for(tool_started.wait(), 5)
    assert manager.cancel("s1") is run
    await run.wait_finished()
    end = [event async for _, event in run.follow()][-1]
    assert isinstance(end, TurnEnd) and end.status == "cancelled"

    saved = (await graph.aget_state(turn_config("s1", run.run_id))).values["messages"]
    assert [type(m) for m in saved] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert saved[2].status == "error" and saved[2].text == INTERRUPTED_TOOL_RESULT
    assert saved[2].tool_call_id == saved[1].tool_calls[0]["id"]
    assert saved[3].text == "(stopped)"

    second = manager.start("s1", executor.for_request(request("did it work?")))
    await second.wait_finished()
    seen = model.received[-1][1:]
    assert [type(m) for m in seen] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
        HumanMessage,
    ]


async def test_a_second_turn_is_refused_while_one_runs(saver: AsyncSqliteSaver) -> None:
    model = ScriptedChatModel(script=[text("slow answer here")], token_delay_s=0.05)
    graph = compile_graph(model, [], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)
    manager = TurnManager()
    run = manager.start("s1", executor.for_request(request("one")))
    with pytest.raises(SessionBusy):
        manager.start("s1", executor.for_request(request("two")))
    assert manager.is_running("s1")
    await run.wait_finished()
    assert not manager.is_running("s1")


async def test_shutdown_waits_for_turns_within_the_grace_period(saver: AsyncSqliteSaver) -> None:
    model = ScriptedChatModel(script=[text("a b c d e")], token_delay_s=0.02)
    graph = compile_graph(model, [], checkpointer=saver)
    manager = TurnManager()
    run = manager.start("s1", TurnExecutor(graph, turn_timeout_s=60).for_request(request("hi")))
    await manager.shutdown(grace_s=5)
    end = [event async for _, event in run.follow()][-1]
    assert isinstance(end, TurnEnd) and end.status == "completed"


async def test_a_second_stop_does_not_cancel_the_turn_again(saver: AsyncSqliteSaver) -> None:
    model = ScriptedChatModel(script=[text("a b c d e f g h")], token_delay_s=0.05)
    graph = compile_graph(model, [], checkpointer=saver)
    manager = TurnManager()
    run = manager.start("s1", TurnExecutor(graph, turn_timeout_s=60).for_request(request("hi")))
    await asyncio.sleep(0.1)
    assert manager.cancel("s1") is run
    assert manager.cancel("s1") is run
    assert run.task is not None and run.task.cancelling() == 1
    await run.wait_finished()


async def test_repair_finishes_even_when_cancelled_again() -> None:
    finished = asyncio.Event()

    async def slow_repair() -> None:
        await asyncio.sleep(0.2)
        finished.set()

    task = asyncio.create_task(finish_despite_cancellation(slow_repair()))
    for _ in range(3):
        await asyncio.sleep(0.02)
        task.cancel()
    await task
    assert finished.is_set()


async def test_a_deleted_session_cannot_be_rejoined(saver: AsyncSqliteSaver) -> None:
    graph = compile_graph(ScriptedChatModel(script=[text("hi")]), [], checkpointer=saver)
    manager = TurnManager()
    run = manager.start("s1", TurnExecutor(graph, turn_timeout_s=60).for_request(request("hi")))
    await run.wait_finished()
    manager.forget("s1")
    assert manager.latest("s1") is None
