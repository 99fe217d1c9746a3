"""Folding older turns keeps every turn end's conversation, forks and later turns intact."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agent.state import DELTA_CHANNELS
from api.sessions.history import checkpoint_id_of, thread_config
from checkpoints.folding import SqliteTurnFolder
from checkpoints.head_cache import HeadCachingSaver
from checkpoints.saver import open_checkpointer
from tests.checkpoints.test_head_cache import QUERIES, THREAD, build, ids, turn

Graph = CompiledStateGraph[Any, Any, Any, Any]


async def turn_ends(graph: Graph) -> dict[str, list[tuple[str | None, str]]]:
    """Every checkpoint that ends a turn (nothing left to run), with its conversation."""
    return {
        str(checkpoint_id_of(s.config)): ids(s.values.get("messages", []))
        async for s in graph.aget_state_history(thread_config(THREAD))
        if not s.next and s.values.get("messages")
    }


def rows(database: Path, table: str) -> int:
    with closing(sqlite3.connect(database)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def every_query_saved(saver: Any) -> tuple[Graph, dict[str, list[tuple[str | None, str]]]]:
    """The graph on `saver` after one turn per query of `QUERIES`, and its turn ends."""
    graph = build(saver)
    for query in QUERIES:
        await turn(graph, query)
    return graph, await turn_ends(graph)


async def test_folding_keeps_every_turn_end_and_the_window_step_by_step(tmp_path: Path) -> None:
    database = tmp_path / "lex.sqlite"
    async with open_checkpointer(database) as saver:
        graph, before = await every_query_saved(saver)
        checkpoints_before = rows(database, "checkpoints")

        folded = await SqliteTurnFolder(saver, list(DELTA_CHANNELS)).fold(THREAD, 2, 10_000)

        assert folded == len(QUERIES) - 2 - 1  # the first turn has no previous end to fold onto
        assert rows(database, "checkpoints") < checkpoints_before - 2 * folded
        after = await turn_ends(graph)
        assert after == before
        recent = [s async for s in graph.aget_state_history(thread_config(THREAD), limit=12)]
        assert any(s.next for s in recent)  # the window keeps its middle steps for Studio

        # A fork from a folded turn's end, and a new turn on the head, read what they should.
        oldest_end = min(before)
        await turn(graph, "Hello again", oldest_end)
        head = await graph.aget_state(thread_config(THREAD))
        assert ids(head.values["messages"])[:-2] == before[oldest_end]
        await turn(graph, "Where is SuperCar Miami?")
        head = await graph.aget_state(thread_config(THREAD))
        texts = [m.text for m in head.values["messages"]]
        assert texts[: len(before[oldest_end]) + 1][-1] == "Hello again"
        assert "Where is SuperCar Miami?" in texts[len(before[oldest_end]) + 2 :]

    # Another process, reading cold or through the head cache, sees the same.
    async with open_checkpointer(database) as reopened:
        cold = build(reopened)
        assert {k: v for k, v in (await turn_ends(cold)).items() if k in before} == before
        cached = build(HeadCachingSaver(reopened, DELTA_CHANNELS))
        for checkpoint_id, conversation in before.items():
            state = await cached.aget_state(thread_config(THREAD, checkpoint_id))
            assert ids(state.values["messages"]) == conversation


async def test_a_turn_with_a_branch_inside_is_left_alone(tmp_path: Path) -> None:
    database = tmp_path / "lex.sqlite"
    async with open_checkpointer(database) as saver:
        graph = build(saver)
        for query in QUERIES[:3]:
            await turn(graph, query)
        first_end = min(await turn_ends(graph))
        await turn(graph, "Hello from a branch", first_end)  # the first end now has two children
        for query in QUERIES[3:5]:
            await turn(graph, query)
        before = await turn_ends(graph)
        folder = SqliteTurnFolder(saver, list(DELTA_CHANNELS))
        await folder.fold(THREAD, 1, 10_000)
        assert await turn_ends(graph) == before
        assert await folder.fold(THREAD, 1, 10_000) == 0  # nothing left to fold


async def test_the_fold_after_a_turn_walks_back_only_just_past_the_window(tmp_path: Path) -> None:
    database = tmp_path / "lex.sqlite"
    async with open_checkpointer(database) as saver:
        graph, before = await every_query_saved(saver)
        folder = SqliteTurnFolder(saver, list(DELTA_CHANNELS))
        foldable = len(QUERIES) - 2 - 1  # a window of 2; the first turn has no earlier end

        # Three turns back from the head reach the one turn just outside a window of two, not
        # the older ones, whatever the session's length...
        assert await folder.fold(THREAD, 2, 10_000, max_turns=3) == 1
        assert await turn_ends(graph) == before
        # ...and the next walk, a turn start fewer on the way, reaches the turn before it, whose
        # end now holds the folded turn's messages: it is folded up to that end, which stays.
        assert await folder.fold(THREAD, 2, 10_000, max_turns=3) == 1
        assert await turn_ends(graph) == before
        assert await folder.fold(THREAD, 2, 10_000) == foldable - 2
        assert await turn_ends(graph) == before
        assert await folder.fold(THREAD, 2, 10_000) == 0
