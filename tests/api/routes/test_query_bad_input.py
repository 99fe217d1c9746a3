"""Bad requests get a clear 4xx JSON error, never a 5xx, and change nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from checkpoints.saver import thread_id_for
from tests.support.app_server import OPERATOR, ServerFactory

VALID = {"query": "hi", "session_id": "s-good"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from api.app import create_app
    from tests.support.app_server import fixed_clock, isolated_settings
    from tests.support.live_server import serve

    tmp_path = tmp_path_factory.mktemp("bad-input")
    app = create_app(isolated_settings(tmp_path, max_query_chars=50), clock=fixed_clock)
    with serve(app) as base_url:
        yield base_url, tmp_path / "lex.sqlite"


def saved_checkpoints(database: Path, session_id: str = "s1") -> int:
    with sqlite3.connect(database) as db:
        query = "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?"
        count: int = db.execute(query, (thread_id_for(session_id),)).fetchone()[0]
        return count


def saved_sessions(database: Path) -> tuple[int, int]:
    """The rows of the session list and of the session secrets."""
    with sqlite3.connect(database) as db:
        entries: int = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        secrets: int = db.execute("SELECT COUNT(*) FROM session_secrets").fetchone()[0]
        return entries, secrets


@pytest.mark.parametrize(
    ("content", "headers", "status", "code", "says"),
    [
        ('{"session_id": "s1"}', {}, 422, "invalid_request", "query"),
        ('{"query": "", "session_id": "s1"}', {}, 422, "invalid_request", "query"),
        ('{"query": "   ", "session_id": "s1"}', {}, 422, "invalid_request", "query"),
        ('{"query": "hi"}', {}, 422, "invalid_request", "session_id"),
        ('{"query": "hi", "session_id": ""}', {}, 422, "invalid_request", "session_id"),
        ('{"query": "hi", "session_id": "a b"}', {}, 422, "invalid_request", "session_id"),
        (
            '{"query": "hi", "session_id": "%s"}' % ("x" * 129),
            {},
            422,
            "invalid_request",
            "session_id",
        ),
        ('{"query": "hi", "session_id": "s/../1"}', {}, 422, "invalid_request", "session_id"),
        ('{"query": "hi", "session_id": ".."}', {}, 422, "invalid_request", "session_id"),
        ('{"query": "hi", "session_id": "-._:"}', {}, 422, "invalid_request", "session_id"),
        ('{"query": "hi\\u0000there", "session_id": "s1"}', {}, 422, "invalid_request", "query"),
        ('{"query": "hi\\u001bthere", "session_id": "s1"}', {}, 422, "invalid_request", "query"),
        ('{"query": 42, "session_id": "s1"}', {}, 422, "invalid_request", "query"),
        (
            '{"query": "%s", "session_id": "s1"}' % ("y" * 51),
            {},
            422,
            "query_too_long",
            "limit is 50",
        ),
        ("{not json", {}, 422, "invalid_request", "JSON"),
        (b"\xff\xfe", {}, 422, "invalid_request", "not valid JSON at character 0: not UTF-8"),
        (
            b'{"query": "hi\xe9", "session_id": "s1"}',
            {},
            422,
            "invalid_request",
            "not valid JSON at character 13: not UTF-8",
        ),
        (b"\xfe\xff\x00{\x00}", {}, 422, "invalid_request", "not UTF-8"),  # UTF-16 is not JSON
        (b"\x00\x00\x01\x00\x00", {}, 422, "invalid_request", "NUL"),
        ("[" * 60_000, {}, 422, "invalid_request", "nested too deeply"),
        ("[1, 2]", {}, 422, "invalid_request", "body"),
        (
            "query=hi&session_id=s1",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
            "JSON",
        ),
        (
            '{"query": "hi", "session_id": "s1"}',
            {"Content-Type": "text/plain"},
            415,
            "unsupported_media_type",
            "JSON",
        ),
        (
            '{"query": "%s", "session_id": "s1"}' % ("z" * 70_000),
            {},
            413,
            "body_too_large",
            "65536",
        ),
    ],
)
def test_bad_query_requests_are_refused_clearly(
    server: tuple[str, Path],
    content: str | bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    says: str,
) -> None:
    base_url, database = server
    response = httpx.post(
        f"{base_url}/query",
        content=content,
        headers={"Content-Type": "application/json", **headers},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert says in error["message"]
    assert saved_checkpoints(database) == 0


def test_a_body_that_is_not_utf8_creates_no_session(server: tuple[str, Path]) -> None:
    base_url, database = server
    before = saved_sessions(database)
    response = httpx.post(
        f"{base_url}/sessions", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "not valid JSON at character 0: not UTF-8" in error["message"]
    assert saved_sessions(database) == before


def test_a_good_request_after_bad_ones_still_works(server: tuple[str, Path]) -> None:
    base_url, database = server
    # As the operator, so the conversation is saved under the id itself.
    response = httpx.post(f"{base_url}/query", json=VALID, headers=OPERATOR, timeout=30)
    assert response.status_code == 200
    assert saved_checkpoints(database, "s-good") > 0


def test_unknown_routes_and_methods_are_json_errors(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        missing = httpx.get(f"{base_url}/nope")
        wrong_method = httpx.get(f"{base_url}/query")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
