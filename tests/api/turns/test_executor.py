"""The turn executor under each coordinator (in-process, Redis): stops, repair, queues, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.graph import compile_graph
from agent.repair import INTERRUPTED_TOOL_RESULT
from api.stream.events import TurnEnd
from api.turns.coordination.base import SessionBusy, TurnCoordinator
from api.turns.coordination.local import TurnManager, TurnRun
from api.turns.coordination.redis import open_redis_coordinator
from api.turns.executor import TurnExecutor, TurnRequest, finish_despite_cancellation, turn_config
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


@pytest.fixture(params=["local", "redis"])
async def manager(request: pytest.FixtureRequest) -> AsyncIterator[TurnCoordinator]:
    """Each coordinator in turn; the Redis one on its own key prefix."""
    on_busy = getattr(request, "param_on_busy", "reject")
    if request.param == "local":
        yield TurnManager(on_busy=on_busy)
        return
    async with open_redis_coordinator(
        request.getfixturevalue("redis_url"),
        key_prefix=request.getfixturevalue("redis_prefix"),
        on_busy=on_busy,
        lease_s=1.0,
        finished_ttl_s=60,
    ) as coordinator:
        try:
            yield coordinator
        finally:
            await coordinator.shutdown(1)


async def start(manager: TurnCoordinator, executor: TurnExecutor, query: str) -> TurnRun:
    run = await manager.start("s1", executor.for_request(request(query)))
    assert isinstance(run, TurnRun)
    return run


def request(query: str) -> TurnRequest:
    return TurnRequest(session_id="s1", query=query, user_id="u1", timezone="America/New_York")


async def test_cancel_during_a_tool_call_closes_the_call_and_the_next_turn_works(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    global tool_started
    tool_started = asyncio.Event()  # bound to this test's event loop
    model = ScriptedChatModel(
        script=[calls(("slow_booking", {"slot": "10:00"})), text("Let me check your bookings.")]
    )
    graph = compile_graph(model, [slow_booking], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)

    run = await start(manager, executor, "book 10:00")
    await asyncio.wait_for(tool_started.wait(), 5)
    assert await manager.cancel("s1") == run.run_id
    await run.wait_finished()
    end = [event async for _, event in run.follow()][-1]
    assert isinstance(end, TurnEnd) and end.status == "cancelled"

    saved = (await graph.aget_state(turn_config("s1", run.run_id))).values["messages"]
    assert [type(m) for m in saved] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert saved[2].status == "error" and saved[2].text == INTERRUPTED_TOOL_RESULT
    assert saved[2].tool_call_id == saved[1].tool_calls[0]["id"]
    assert saved[3].text == "(stopped)"

    second = await start(manager, executor, "did it work?")
    await second.wait_finished()
    seen = model.received[-1][1:]
    assert [type(m) for m in seen] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
        HumanMessage,
    ]


async def test_a_second_turn_is_refused_while_one_runs(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    model = ScriptedChatModel(script=[text("slow answer here")], token_delay_s=0.05)
    graph = compile_graph(model, [], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)
    run = await start(manager, executor, "one")
    with pytest.raises(SessionBusy):
        await start(manager, executor, "two")
    assert await manager.is_running("s1")
    await run.wait_finished()
    assert not await manager.is_running("s1")


@pytest.mark.parametrize("manager", ["local", "redis"], indirect=True)
async def test_enqueued_turns_run_in_order_up_to_the_cap(
    saver: AsyncSqliteSaver, manager: Any
) -> None:
    manager.on_busy = "enqueue"
    model = ScriptedChatModel(script=[text(f"answer {n}") for n in range(4)], token_delay_s=0.02)
    graph = compile_graph(model, [], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)
    runs = [await start(manager, executor, f"question {n}") for n in range(4)]
    with pytest.raises(SessionBusy):  # one running and three waiting is the most
        await start(manager, executor, "one too many")
    for run in runs:
        await run.wait_finished()
    asked = [[m.text for m in received[1:] if m.type == "human"][-1] for received in model.received]
    assert asked == [f"question {n}" for n in range(4)]
    ends = [[e async for _, e in run.follow()][-1] for run in runs]
    assert all(isinstance(e, TurnEnd) and e.status == "completed" for e in ends)


async def test_shutdown_waits_for_turns_within_the_grace_period(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    model = ScriptedChatModel(script=[text("a b c d e")], token_delay_s=0.02)
    graph = compile_graph(model, [], checkpointer=saver)
    run = await start(manager, TurnExecutor(graph, turn_timeout_s=60), "hi")
    await manager.shutdown(grace_s=5)
    end = [event async for _, event in run.follow()][-1]
    assert isinstance(end, TurnEnd) and end.status == "completed"


async def test_a_second_stop_does_not_cancel_the_turn_again(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    model = ScriptedChatModel(script=[text("a b c d e f g h")], token_delay_s=0.05)
    graph = compile_graph(model, [], checkpointer=saver)
    run = await start(manager, TurnExecutor(graph, turn_timeout_s=60), "hi")
    await asyncio.sleep(0.1)
    assert await manager.cancel("s1") == run.run_id
    assert await manager.cancel("s1") == run.run_id
    # At most one cancellation reached the task (the turn may already have handled it).
    assert run.task is not None and run.task.cancelling() <= 1
    await run.wait_finished()
    end = [event async for _, event in run.follow()][-1]
    assert isinstance(end, TurnEnd) and end.status == "cancelled"
    messages = (
        await compile_graph(model, [], checkpointer=saver).aget_state(turn_config("s1", run.run_id))
    ).values["messages"]
    assert [m.type for m in messages] == ["human", "ai"]  # the repair ran to its end


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


async def test_a_deleted_session_cannot_be_rejoined(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    graph = compile_graph(ScriptedChatModel(script=[text("hi")]), [], checkpointer=saver)
    run = await start(manager, TurnExecutor(graph, turn_timeout_s=60), "hi")
    await run.wait_finished()
    assert await manager.latest("s1") is run
    await manager.forget("s1")
    assert await manager.latest("s1") is None


async def test_the_next_message_is_accepted_as_soon_as_end_arrives(
    saver: AsyncSqliteSaver, manager: TurnCoordinator
) -> None:
    model = ScriptedChatModel(script=[text(f"answer {n}") for n in range(5)])
    graph = compile_graph(model, [], checkpointer=saver)
    executor = TurnExecutor(graph, turn_timeout_s=60)
    for n in range(5):
        run = await start(manager, executor, f"question {n}")  # never SessionBusy
        async for _, event in run.follow():
            if isinstance(event, TurnEnd):  # a client sends its next message on reading `end`
                assert event.status == "completed"
                break
