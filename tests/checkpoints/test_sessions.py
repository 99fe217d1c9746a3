"""The session registry: entries per session, titles, newest-first pages, deletion, persistence.

Every registry test runs on SQLite and on Postgres.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checkpoints.saver import open_checkpointer, thread_id_for
from checkpoints.sessions import (
    TITLE_MAX_CHARS,
    InvalidCursorError,
    SessionRegistry,
    open_session_registry,
    record_turn,
    shorten_title,
)
from tests.support.storage import on_every_engine, open_database

START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def ticking_clock(step: timedelta = timedelta(seconds=1)) -> Callable[[], datetime]:
    """A clock that moves forward by `step` on every reading."""
    now = [START]

    def clock() -> datetime:
        now[0] += step
        return now[0]

    return clock


async def record(registry: SessionRegistry, session_id: str, text: str = "hi") -> None:
    await record_turn(registry, session_id, thread_id_for(session_id), text)


@on_every_engine
async def test_first_turn_creates_the_entry_and_later_turns_bump_it(database_url: str) -> None:
    async with open_database(database_url, ticking_clock()) as storage:
        registry = storage.sessions
        first = await registry.record_turn("s-1", thread_id_for("s-1"), "What's the weather?")
        second = await registry.record_turn("s-1", thread_id_for("s-1"), "And tomorrow?")

    assert first.turn_count == 1 and second.turn_count == 2
    assert second.title == "What's the weather?"  # the first message stays the title
    assert second.thread_id == thread_id_for("s-1")
    assert second.created_at == first.created_at == first.updated_at
    assert second.updated_at > first.updated_at
    assert second.created_at == "2026-11-24T15:00:01.000000+00:00"


@on_every_engine
async def test_unknown_session_is_none_and_delete_removes_only_that_session(
    database_url: str,
) -> None:
    async with open_database(database_url) as storage:
        registry = storage.sessions
        await record(registry, "keep")
        await record(registry, "drop")
        assert await registry.get("nobody") is None
        assert await registry.delete("drop") is True
        assert await registry.delete("drop") is False
        assert await registry.get("drop") is None
        assert await registry.get("keep") is not None


def test_titles_are_one_line_and_cut_at_a_word_boundary() -> None:
    assert shorten_title("  Book the   GT\nat Miami  ") == "Book the GT at Miami"
    long = "Could you please tell me the weather in Miami and also the address of the dealership"
    title = shorten_title(long)
    assert len(title) <= TITLE_MAX_CHARS
    assert title.endswith("…")
    assert long.startswith(title.removesuffix("…"))
    assert title.removesuffix("…")[-1] != " "
    assert long[len(title) - 1] == " "  # the cut falls between two words
    assert shorten_title("x" * 200) == "x" * (TITLE_MAX_CHARS - 1) + "…"


@on_every_engine
async def test_pages_are_newest_first_and_the_cursor_walks_every_session_once(
    database_url: str,
) -> None:
    async with open_database(database_url, ticking_clock()) as storage:
        registry = storage.sessions
        for n in range(7):
            await record(registry, f"s-{n}")
        await record(registry, "s-2")  # the most recent activity comes first

        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await registry.list_page(3, cursor)
            pages += 1
            seen.extend(record.session_id for record in page.sessions)
            cursor = page.next_cursor
            if cursor is None:
                break

    assert seen == ["s-2", "s-6", "s-5", "s-4", "s-3", "s-1", "s-0"]
    assert pages == 3


@on_every_engine
async def test_sessions_updated_in_the_same_instant_are_all_listed(database_url: str) -> None:
    async with open_database(database_url, ticking_clock(timedelta(0))) as storage:
        registry = storage.sessions
        for n in range(5):
            await record(registry, f"s-{n}")
        first = await registry.list_page(2)
        assert first.next_cursor is not None
        second = await registry.list_page(2, first.next_cursor)
        assert second.next_cursor is not None
        third = await registry.list_page(2, second.next_cursor)
    ids = [r.session_id for page in (first, second, third) for r in page.sessions]
    assert sorted(ids) == [f"s-{n}" for n in range(5)] and len(set(ids)) == 5
    assert third.next_cursor is None


@on_every_engine
@pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "WyJhIiwxXQ"])
async def test_a_cursor_the_registry_did_not_hand_out_is_refused(
    database_url: str, cursor: str
) -> None:
    async with open_database(database_url) as storage:
        registry = storage.sessions
        with pytest.raises(InvalidCursorError):
            await registry.list_page(5, cursor)


async def test_entries_survive_a_restart_beside_the_checkpoint_tables(tmp_path: Path) -> None:
    path = tmp_path / "data" / "lex.sqlite"
    async with open_checkpointer(path), open_session_registry(path) as registry:
        await record(registry, "s-1", "hello there")
    async with open_session_registry(path) as registry:
        entry = await registry.get("s-1")
    assert entry is not None and entry.title == "hello there"
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "checkpoints", "writes"} <= tables


@on_every_engine
async def test_entries_and_checkpoints_survive_reopening_the_database(database_url: str) -> None:
    config = {"configurable": {"thread_id": thread_id_for("s-1"), "checkpoint_ns": ""}}
    async with open_database(database_url) as storage:
        await record(storage.sessions, "s-1", "hello there")
        assert await storage.checkpointer.aget_tuple(config) is None  # tables exist, thread empty
    async with open_database(database_url) as storage:
        entry = await storage.sessions.get("s-1")
    assert entry is not None and entry.title == "hello there" and entry.turn_count == 1


@on_every_engine
async def test_sessions_idle_since_a_cutoff_are_listed_oldest_first(database_url: str) -> None:
    async with open_database(database_url, ticking_clock(timedelta(days=1))) as storage:
        registry = storage.sessions
        for session_id in ("oldest", "older", "recent"):
            await record(registry, session_id)
        cutoff = (await registry.get("recent")).updated_at  # type: ignore[union-attr]
        idle = await registry.updated_before(cutoff, limit=10)
        assert [r.session_id for r in idle] == ["oldest", "older"]
        assert [r.session_id for r in await registry.updated_before(cutoff, limit=1)] == ["oldest"]


async def test_a_turn_recorded_while_a_session_creation_fails_is_kept(tmp_path: Path) -> None:
    # Both go through the registry's one connection: without a lock, the turn's statement ran
    # inside the creation's transaction and was rolled back with it.
    async with open_session_registry(tmp_path / "lex.sqlite", ticking_clock()) as registry:
        await registry.create_owned("taken", thread_id_for("taken"), "hash")
        outcomes = await asyncio.gather(
            registry.create_owned("taken", thread_id_for("taken"), "hash"),
            registry.record_turn("other", thread_id_for("other"), "Hello"),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], sqlite3.IntegrityError)
        assert (await registry.get("other")) is not None
