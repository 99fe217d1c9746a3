"""Attacks on expensive reads and on the session list under load."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

import api.sessions.replay
from checkpoints.sessions import SqliteSessionRegistry
from tests.security.attacks import ask, create_session, events
from tests.support.app_server import OPERATOR, ServerFactory


def test_a_huge_checkpoint_page_is_refused(lex_url: str) -> None:
    session = create_session(lex_url)
    events(ask(lex_url, "hello", session.session_id, session.auth))
    url = f"{lex_url}/sessions/{session.session_id}/checkpoints"
    assert httpx.get(url, params={"limit": 1000}, headers=session.auth).status_code == 422
    assert httpx.get(url, params={"limit": 200}, headers=session.auth).status_code == 200


def test_a_paced_replay_cannot_hold_a_connection_for_long(
    lex_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.sessions.replay, "MAX_PACED_REPLAY_S", 0.5)
    with lex_server() as base_url:
        session = create_session(base_url)
        for query in ("hello", "What's the weather in Miami?"):
            events(ask(base_url, query, session.session_id, session.auth))
        started = time.monotonic()
        replay = httpx.get(
            f"{base_url}/sessions/{session.session_id}/replay",
            params={"pace_ms": 10_000},  # 10 s before each of a dozen events
            headers=session.auth,
            timeout=30,
        )
        elapsed = time.monotonic() - started
    assert replay.status_code == 200 and replay.text.rstrip().endswith("data:")
    assert elapsed < 15


def test_a_registry_write_refused_under_load_does_not_lose_the_session(
    lex_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SqliteSessionRegistry.record_turn
    failures = iter([True, True])

    async def locked_twice(self: SqliteSessionRegistry, *args: Any) -> Any:
        if next(failures, False):
            raise RuntimeError("database is locked")
        return await real(self, *args)

    monkeypatch.setattr(SqliteSessionRegistry, "record_turn", locked_twice)
    with lex_server() as base_url:
        events(ask(base_url, "hello", "under-load", OPERATOR))
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR, timeout=10).json()
    assert [s["session_id"] for s in listed["sessions"]] == ["under-load"]
