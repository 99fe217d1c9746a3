"""The head cache rebuilds every checkpoint exactly as the wrapped saver does, across processes."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.graph.state import CompiledStateGraph

from agent.graph import compile_graph
from agent.models.offline.model import OfflineChatModel
from agent.state import DELTA_CHANNELS
from api.sessions.history import checkpoint_id_of, thread_config
from checkpoints.head_cache import HeadCachingSaver
from checkpoints.saver import open_checkpointer
from tools import InMemoryAppointmentBook, ToolServices, build_tools
from tools.domain.weather import SimulatedWeather

Graph = CompiledStateGraph[Any, Any, Any, Any]
THREAD = "4b1f8a52-0000-4000-8000-000000000001"
QUERIES = [
    "What's the weather in Miami?",
    "Hello! Do you have the GT?",
    "Where is SuperCar Dallas?",
    "Any free slots at the Miami dealership on 2026-11-26?",
    "Book the GT at Miami on 2026-11-26 at 10:00",
    "What is the weather in Seattle and Dallas?",
]


def build(checkpointer: Any) -> Graph:
    tools = build_tools(
        ToolServices(appointments=InMemoryAppointmentBook(), weather=SimulatedWeather())
    )
    return compile_graph(OfflineChatModel(), tools, checkpointer=checkpointer)


async def turn(graph: Graph, query: str, checkpoint_id: str | None = None) -> None:
    config = thread_config(THREAD, checkpoint_id)
    async for _ in graph.astream({"messages": [HumanMessage(query)]}, config):
        pass


def ids(messages: list[BaseMessage]) -> list[tuple[str | None, str]]:
    return [(m.id, m.text) for m in messages]


async def assert_same_everywhere(cached: Graph, reference: Graph) -> int:
    """Every checkpoint of the thread reads the same through the cache as without it."""
    count = 0
    async for snapshot in reference.aget_state_history(thread_config(THREAD)):
        config = thread_config(THREAD, checkpoint_id_of(snapshot.config))
        seen = await cached.aget_state(config)
        assert ids(seen.values.get("messages", [])) == ids(snapshot.values.get("messages", []))
        assert seen.next == snapshot.next
        count += 1
    head = await cached.aget_state(thread_config(THREAD))
    expected = await reference.aget_state(thread_config(THREAD))
    assert ids(head.values["messages"]) == ids(expected.values["messages"])
    return count


async def test_two_processes_sharing_a_database_read_what_the_other_wrote(
    tmp_path: Path,
) -> None:
    database = tmp_path / "lex.sqlite"
    async with AsyncExitStack() as stack:
        savers = [await stack.enter_async_context(open_checkpointer(database)) for _ in range(3)]
        first = HeadCachingSaver(savers[0], DELTA_CHANNELS)
        second = HeadCachingSaver(savers[1], DELTA_CHANNELS)
        on_first, on_second, reference = build(first), build(second), build(savers[2])

        for query in QUERIES[:3]:
            await turn(on_first, query)
        assert first.hits > 0  # each turn started from the head the previous one left
        for query in QUERIES[3:5]:
            await turn(on_second, query)  # the first process's remembered head is now behind
        await turn(on_first, QUERIES[5])
        checked = await assert_same_everywhere(on_first, reference)
        assert checked > 20
        await assert_same_everywhere(on_second, reference)

        # A repair as the turn executor writes it, then a fork from the first turn's end.
        config = thread_config(THREAD)
        await on_second.aupdate_state(
            config, {"messages": [AIMessage("Sorry, that went wrong.")]}, as_node="call_model"
        )
        history = [s async for s in reference.aget_state_history(config)]
        first_end = next(s for s in reversed(history) if not s.next and s.metadata["step"] > 0)
        await turn(on_first, "Hello again", checkpoint_id_of(first_end.config))
        head = await on_first.aget_state(config)
        assert [m.text for m in head.values["messages"]][-2] == "Hello again"
        assert len(head.values["messages"]) == len(first_end.values["messages"]) + 2
        await assert_same_everywhere(on_first, reference)
        await assert_same_everywhere(on_second, reference)


async def test_a_process_far_behind_falls_back_to_the_full_walk(tmp_path: Path) -> None:
    database = tmp_path / "lex.sqlite"
    async with AsyncExitStack() as stack:
        writer = await stack.enter_async_context(open_checkpointer(database))
        reader = await stack.enter_async_context(open_checkpointer(database))
        behind = HeadCachingSaver(reader, DELTA_CHANNELS, max_walk=2)
        writing = build(writer)
        for query in QUERIES[:2]:
            await turn(writing, query)
        reading = build(behind)
        await assert_same_everywhere(reading, writing)
        assert behind.misses > 0
        await turn(writing, QUERIES[2])
        await assert_same_everywhere(reading, writing)


async def test_a_deleted_thread_is_forgotten(tmp_path: Path) -> None:
    async with open_checkpointer(tmp_path / "lex.sqlite") as saver:
        cached = HeadCachingSaver(saver, DELTA_CHANNELS)
        graph = build(cached)
        await turn(graph, QUERIES[0])
        await graph.aget_state(thread_config(THREAD))
        await cached.adelete_thread(THREAD)
        state = await graph.aget_state(thread_config(THREAD))
        assert state.values == {}
        await turn(graph, QUERIES[1])
        state = await graph.aget_state(thread_config(THREAD))
        assert state.values["messages"][0].text == QUERIES[1]


async def test_a_listing_is_rebuilt_from_parents_and_reads_the_same(tmp_path: Path) -> None:
    database = tmp_path / "lex.sqlite"
    async with AsyncExitStack() as stack:
        writer = await stack.enter_async_context(open_checkpointer(database))
        reader = await stack.enter_async_context(open_checkpointer(database))
        writing = build(writer)
        for query in QUERIES:
            await turn(writing, query)
        cold = HeadCachingSaver(reader, DELTA_CHANNELS, max_walk=4)
        listed = [t async for t in cold.alist(thread_config(THREAD), limit=12)]
        assert len(listed) == 12
        assert cold.misses == 1  # the oldest listed one, whose parent is not listed
        reading = build(cold)
        async for snapshot in writing.aget_state_history(thread_config(THREAD), limit=12):
            seen = await reading.aget_state(snapshot.config)
            assert ids(seen.values["messages"]) == ids(snapshot.values["messages"])
        assert cold.misses == 1
        await assert_same_everywhere(reading, writing)
