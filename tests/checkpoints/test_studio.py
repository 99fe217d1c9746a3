"""The Studio copy: one thread, copied through the saver interface from either engine, exactly.

The copy must hold the same checkpoints (ids, parents, metadata), the same pending writes in the
same order, and so the same conversation at every checkpoint: the messages channel is stored as
per-step writes, so a lost or reordered write is a lost or reordered message.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from agent.state import DELTA_CHANNELS
from api.sessions.history import checkpoint_id_of, thread_config
from checkpoints.folding import SqliteTurnFolder
from checkpoints.saver import open_checkpointer
from checkpoints.studio import STUDIO_COPY_ENV, copy_thread, studio_checkpointer
from tests.checkpoints.test_head_cache import QUERIES, THREAD, build, ids, turn
from tests.support.storage import on_every_engine, open_database

OTHER_THREAD = "4b1f8a52-0000-4000-8000-000000000002"
TURNS = [QUERIES[0], QUERIES[2], QUERIES[5], QUERIES[1]]
"""Tool turns and a plain one; with two turns kept step by step, the first can be folded."""


def listed(saved: CheckpointTuple) -> tuple[Any, ...]:
    """Everything a saver gives back about one checkpoint."""
    return (
        saved.config["configurable"]["checkpoint_id"],
        checkpoint_id_of(saved.parent_config),
        saved.metadata,
        saved.checkpoint,
        saved.pending_writes,
    )


async def everything(saver: BaseCheckpointSaver[Any], thread_id: str) -> list[tuple[Any, ...]]:
    return [listed(saved) async for saved in saver.alist(thread_config(thread_id))]


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def tables_and_threads(database: Path) -> tuple[set[str], set[str]]:
    with closing(sqlite3.connect(database)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        threads = {
            row[0]
            for table in ("checkpoints", "writes")
            for row in db.execute(f"SELECT DISTINCT thread_id FROM {table}")
        }
    return tables, threads


@on_every_engine
async def test_a_copied_thread_holds_every_checkpoint_write_and_message_of_its_source(
    database_url: str, tmp_path: Path
) -> None:
    async with open_database(database_url) as storage:
        source = storage.checkpointer
        graph = build(source)
        for query in TURNS:
            await turn(graph, query)
        async for _ in graph.astream(
            {"messages": [HumanMessage("Hello from another session")]},
            thread_config(OTHER_THREAD),
        ):
            pass
        if storage.engine == "sqlite":
            # Older turns folded as the app does: a turn's messages stored on the previous end.
            folded = await SqliteTurnFolder(source, list(DELTA_CHANNELS)).fold(THREAD, 2, 10_000)
            assert folded > 0
        # A fork from the first turn's end: the copy keeps both branches.
        history = [s async for s in graph.aget_state_history(thread_config(THREAD))]
        first_end = next(s for s in reversed(history) if not s.next and s.metadata["step"] > 0)
        await turn(graph, "Hello again", checkpoint_id_of(first_end.config))
        expected = await everything(source, THREAD)

        async with open_checkpointer(tmp_path / "copy.sqlite") as target:
            copied = await copy_thread(source, target, THREAD)

            assert copied.checkpoints == len(expected)
            assert copied.head == expected[0][0]
            assert await everything(target, THREAD) == expected
            copied_graph = build(target)
            head = await copied_graph.aget_state(thread_config(THREAD))
            want = await graph.aget_state(thread_config(THREAD))
            assert ids(head.values["messages"]) == ids(want.values["messages"])
            # The branch left by the fork: every message of every turn.
            long_branch = await copied_graph.aget_state(history[0].config)
            assert ids(long_branch.values["messages"]) == ids(history[0].values["messages"])
            assert len(long_branch.values["messages"]) > 2 * len(TURNS)
            async for snapshot in graph.aget_state_history(thread_config(THREAD)):
                seen = await copied_graph.aget_state(snapshot.config)
                assert ids(seen.values.get("messages", [])) == ids(
                    snapshot.values.get("messages", [])
                )

    tables, threads = tables_and_threads(tmp_path / "copy.sqlite")
    assert threads == {THREAD}
    assert tables == {"checkpoints", "writes"}  # no session list, no appointments


async def test_the_writes_of_one_step_keep_their_order_in_the_copy(tmp_path: Path) -> None:
    async with open_checkpointer(tmp_path / "source.sqlite") as source:
        checkpoint = empty_checkpoint()
        config = await source.aput(
            {"configurable": {"thread_id": THREAD, "checkpoint_ns": ""}},
            checkpoint,
            {"source": "loop", "step": 1},
            {},
        )
        # Task "z" ran first in the step: savers order writes by task path, then task id.
        await source.aput_writes(config, [("messages", "z1"), ("messages", "z2")], "z", "~0")
        await source.aput_writes(config, [("messages", "a1")], "a", "~1")
        await source.aput_writes(config, [("__error__", "boom"), ("messages", "m1")], "m", "~2")
        expected = await everything(source, THREAD)
        assert [value for _task, _channel, value in expected[0][4]] == [
            "z1",
            "z2",
            "a1",
            "boom",
            "m1",
        ]

        async with open_checkpointer(tmp_path / "copy.sqlite") as target:
            await copy_thread(source, target, THREAD)
            assert await everything(target, THREAD) == expected


async def test_copying_a_thread_that_was_never_saved_copies_nothing(tmp_path: Path) -> None:
    async with (
        open_checkpointer(tmp_path / "source.sqlite") as source,
        open_checkpointer(tmp_path / "copy.sqlite") as target,
    ):
        copied = await copy_thread(source, target, THREAD)
    assert (copied.checkpoints, copied.head) == (0, None)


async def test_the_studio_checkpointer_opens_the_copy_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy.sqlite"
    async with open_checkpointer(copy) as saver:
        await turn(build(saver), QUERIES[0])
    monkeypatch.setenv(STUDIO_COPY_ENV, str(copy))
    async with studio_checkpointer() as saver:
        state = await build(saver).aget_state(thread_config(THREAD))
    assert state.values["messages"][0].text == QUERIES[0]


async def test_without_a_copy_the_studio_checkpointer_keeps_everything_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STUDIO_COPY_ENV, raising=False)
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    async with studio_checkpointer() as saver:
        assert isinstance(saver, InMemorySaver)
        await turn(build(saver), QUERIES[0])
    assert files_under(tmp_path) == []  # nothing written to disk
