"""A database written by the previous release opens, reads and continues through today's app.

`fixtures/previous_release.sqlite` was written by the release before the storage changes (see
`fixtures/make_previous_release.py`); `previous_release_transcripts.json` is what that release's
`GET /sessions/{id}` returned for it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

from tests.checkpoints.fixtures.make_previous_release import (
    BOOKING_SESSION,
    FIXTURE,
    FORK_QUERY,
    FORKED_SESSION,
)
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.sse import parse_like_frontend

EXPECTED = json.loads(FIXTURE.with_name("previous_release_transcripts.json").read_text())
HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}
KEPT_FIELDS = ("turn", "role", "text", "tool_calls", "name", "status", "output")
BOOKED = "SC-ZJNHQR"


def transcript(base_url: str, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url}/sessions/{session_id}", headers=OPERATOR, timeout=10)
    assert response.status_code == 200, response.text
    return [{key: m[key] for key in KEPT_FIELDS} for m in response.json()["messages"]]


def ask(base_url: str, query: str, session_id: str, **extra: Any) -> str:
    body = {"query": query, "session_id": session_id, **extra}
    response = httpx.post(
        f"{base_url}/query", json=body, headers={**HEADERS, **OPERATOR}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.text


def test_previous_release_database_reads_and_continues(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    shutil.copyfile(FIXTURE, tmp_path / "lex.sqlite")
    with lex_server() as base_url:
        for session_id in (BOOKING_SESSION, FORKED_SESSION):
            assert transcript(base_url, session_id) == EXPECTED[session_id]["messages"]
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR, timeout=10).json()["sessions"]
        assert {s["session_id"] for s in listed} == {BOOKING_SESSION, FORKED_SESSION}

        # The booking made by the previous release is still there, and the session continues.
        answer = parse_like_frontend(ask(base_url, "Show my appointments", BOOKING_SESSION))
        assert any(m.event == "tool_output" and BOOKED in m.data for m in answer)
        continued = transcript(base_url, BOOKING_SESSION)
        old = EXPECTED[BOOKING_SESSION]["messages"]
        assert continued[: len(old)] == old
        added = [m["role"] for m in continued[len(old) :]]
        assert added == ["user", "assistant", "tool", "assistant"]

        replay = httpx.get(
            f"{base_url}/sessions/{FORKED_SESSION}/replay", headers=OPERATOR, timeout=10
        )
        turns = [m for m in parse_like_frontend(replay.text) if m.event == "turn"]
        assert [json.loads(t.data)["query"] for t in turns][-1] == FORK_QUERY

        # A turn end saved by the previous release is still a fork point.
        checkpoints = httpx.get(
            f"{base_url}/sessions/{FORKED_SESSION}/checkpoints", headers=OPERATOR
        ).json()
        assert len(checkpoints) == EXPECTED[FORKED_SESSION]["checkpoints"]
        first_end = next(c for c in checkpoints if not c["next"] and c["step"] > 0)
        assert first_end["message_count"] == 4
        ask(base_url, "Hello there", FORKED_SESSION, checkpoint_id=first_end["checkpoint_id"])
        forked = transcript(base_url, FORKED_SESSION)
        assert forked[:4] == EXPECTED[FORKED_SESSION]["messages"][:4]
        assert [m["role"] for m in forked[4:]] == ["user", "assistant"]
    with closing(sqlite3.connect(tmp_path / "lex.sqlite")) as db:
        # Migrated on open: the file can now give space back after deletes.
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert db.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 1
