"""Attacks on saved sessions: listing, reading, continuing, forking, stopping, deleting.

Each test is an attack that worked before sessions had owners, replayed on a real server.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.security.attacks import (
    ATTACKER_HEADERS,
    SECRET_TEXT,
    ask,
    create_session,
    events,
)
from tests.support.app_server import OPERATOR, ServerFactory

SESSION_READS = ("", "/replay", "/checkpoints", "/stream")


def test_nobody_but_the_operator_lists_sessions(lex_url: str) -> None:
    victim = create_session(lex_url)
    events(ask(lex_url, SECRET_TEXT, victim.session_id, victim.auth))

    anonymous = httpx.get(f"{lex_url}/sessions", timeout=10)
    with_a_session_secret = httpx.get(f"{lex_url}/sessions", headers=victim.auth, timeout=10)
    wrong_token = httpx.get(
        f"{lex_url}/sessions", headers={"Authorization": "Bearer guess"}, timeout=10
    )
    operator = httpx.get(f"{lex_url}/sessions", headers=OPERATOR, timeout=10)

    assert anonymous.status_code == 401
    assert with_a_session_secret.status_code == 401
    assert wrong_token.status_code == 401
    for refused in (anonymous, with_a_session_secret, wrong_token):
        assert "Alice" not in refused.text
    assert [s["session_id"] for s in operator.json()["sessions"]] == [victim.session_id]


@pytest.mark.parametrize("suffix", SESSION_READS)
def test_a_session_is_not_read_by_knowing_its_id(lex_url: str, suffix: str) -> None:
    victim = create_session(lex_url)
    events(ask(lex_url, SECRET_TEXT, victim.session_id, victim.auth))
    other = create_session(lex_url)
    url = f"{lex_url}/sessions/{victim.session_id}{suffix}"

    no_credential = httpx.get(url, timeout=10)
    another_sessions_secret = httpx.get(url, headers=other.auth, timeout=10)
    owner = httpx.get(url, headers=victim.auth, timeout=10)

    assert no_credential.status_code == 401
    assert another_sessions_secret.status_code == 403
    assert "Alice" not in no_credential.text + another_sessions_secret.text
    assert owner.status_code == 200
    if suffix in ("", "/replay"):
        assert "Alice" in owner.text


def test_a_session_is_not_continued_forked_stopped_or_deleted_without_its_secret(
    lex_server: ServerFactory,
) -> None:
    with lex_server(offline_token_delay_s=0.05) as base_url:
        victim = create_session(base_url)
        events(ask(base_url, SECRET_TEXT, victim.session_id, victim.auth))
        checkpoints = httpx.get(
            f"{base_url}/sessions/{victim.session_id}/checkpoints", headers=victim.auth, timeout=10
        ).json()
        turn_end = next(c for c in checkpoints if not c["next"])

        continued = ask(base_url, "show my bookings", victim.session_id, ATTACKER_HEADERS)
        forked = ask(
            base_url,
            "hello",
            victim.session_id,
            ATTACKER_HEADERS,
            checkpoint_id=turn_end["checkpoint_id"],
        )
        with httpx.stream(
            "POST",
            f"{base_url}/query",
            json={"query": "hello", "session_id": victim.session_id, "stream_format": "json"},
            headers=victim.auth,
            timeout=30,
        ) as running:
            stopped = httpx.post(f"{base_url}/sessions/{victim.session_id}/cancel", timeout=10)
            deleted = httpx.delete(f"{base_url}/sessions/{victim.session_id}", timeout=10)
            running.read()
        transcript = httpx.get(
            f"{base_url}/sessions/{victim.session_id}", headers=victim.auth, timeout=10
        )

    assert continued.status_code == 401
    assert forked.status_code == 401
    assert stopped.status_code == 401
    assert deleted.status_code == 401
    # The victim's running answer finished, and the history is whole.
    assert '"status":"completed"' in running.text.replace(" ", "")
    texts = [m["text"] for m in transcript.json()["messages"] if m["role"] == "user"]
    assert texts == [SECRET_TEXT, "hello"]


def test_the_operator_token_opens_any_session_and_a_guess_does_not(lex_url: str) -> None:
    victim = create_session(lex_url)
    events(ask(lex_url, SECRET_TEXT, victim.session_id, victim.auth))
    guess = {"Authorization": "Bearer " + "A" * 43}
    assert httpx.get(f"{lex_url}/sessions/{victim.session_id}", headers=guess).status_code == 403
    operator = httpx.get(f"{lex_url}/sessions/{victim.session_id}", headers=OPERATOR)
    assert operator.status_code == 200 and "Alice" in operator.text


def test_secrets_are_stored_hashed(lex_url: str, tmp_path: Path) -> None:
    victim = create_session(lex_url)
    with closing(sqlite3.connect(tmp_path / "lex.sqlite")) as db:
        stored = {row[0] for row in db.execute("SELECT secret_hash FROM session_secrets")}
    assert len(stored) == 1 and victim.secret not in stored
    assert victim.secret not in (tmp_path / "lex.sqlite").read_bytes().decode("latin-1")
