"""Attacks on expensive reads and on the session list under load."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import api.sessions.replay
from checkpoints.head_cache import HeadCachingSaver
from checkpoints.sessions import SqliteSessionRegistry
from tests.security.attacks import ask, create_session, events
from tests.support.app_server import OPERATOR, ServerFactory

HELD_S = 30.0
"""How long a held checkpoint read waits before going on, unless it is cancelled first."""
WAIT_S = 10.0


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


class HeldReads:
    """Holds the server's next checkpoint read until it is cancelled, noting what became of it."""

    def __init__(self) -> None:
        self.reading = threading.Event()
        self.cancelled = threading.Event()
        self.went_on = threading.Event()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = HeadCachingSaver.aget_delta_channel_history

        async def held(self_: HeadCachingSaver, **kwargs: Any) -> Any:
            self.reading.set()
            try:
                await asyncio.sleep(HELD_S)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            self.went_on.set()
            return await real(self_, **kwargs)

        monkeypatch.setattr(HeadCachingSaver, "aget_delta_channel_history", held)


def hang_up_once_reading(base_url: str, path: str, secret: str, reads: HeldReads) -> None:
    """Sends a GET on a raw connection and closes it once the server has begun reading."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=WAIT_S) as client:
        client.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {secret}\r\n\r\n".encode()
        )
        assert reads.reading.wait(WAIT_S), "the server never began reading"


@pytest.mark.parametrize(
    ("route", "what"),
    [("", "transcript"), ("/checkpoints", "checkpoint listing"), ("/replay", "replay reading")],
)
def test_a_read_stops_when_its_client_hangs_up(
    lex_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    route: str,
    what: str,
) -> None:
    reads = HeldReads()
    with lex_server() as base_url:
        session = create_session(base_url)
        events(ask(base_url, "hello", session.session_id, session.auth))
        reads.install(monkeypatch)
        path = f"/sessions/{session.session_id}{route}"

        hang_up_once_reading(base_url, path, session.secret, reads)

        assert reads.cancelled.wait(WAIT_S), "the read went on after the client had gone"
        monkeypatch.undo()  # reads run freely again: nothing was left locked or half-open
        after = httpx.get(f"{base_url}{path}", headers=session.auth, timeout=WAIT_S)
    assert not reads.went_on.is_set()
    assert f"stopped the {what}: the client went away" in caplog.text
    assert after.status_code == 200
