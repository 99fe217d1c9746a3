"""POST /query end to end: real server, real SQLite, real tools, the frontend's exact stream."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.scripted_model import ScriptedChatModel, calls, text
from tests.support.sse import parse_like_frontend, parse_sse

FRONTEND_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream",
    "Origin": "http://localhost:3000",
}


def post_query(base_url: str, query: str, session_id: str, **extra: object) -> httpx.Response:
    body = {"query": query, "session_id": session_id, **extra}
    return httpx.post(f"{base_url}/query", json=body, headers=FRONTEND_HEADERS, timeout=30)


def test_weather_turn_matches_the_frontend_contract(lex_url: str) -> None:
    response = post_query(lex_url, "What's the weather in Miami?", "premium_client-1732470000000")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    assert "\r" not in response.text

    events = parse_sse(response.text)
    names = [event.event for event in events]
    assert names[:2] == ["tool_use", "tool_output"]
    assert events[0].data == "get_weather"
    assert set(names[2:-1]) == {"chunk"} and len(names) > 3
    assert names[-1] == "end" and events[-1].data == ""

    card = events[1].json()
    assert card["name"] == "get_weather"
    assert isinstance(card["output"], str)
    assert re.search(r"(\d+)°C", card["output"])
    assert re.search(r"in ([A-Za-z ]+) is", card["output"]).group(1) == "Miami"  # type: ignore[union-attr]
    assert card["output"].count(" is ") == 1

    # The way the frontend reads it: `\n` splits, prefixes, one message per data line.
    messages = parse_like_frontend(response.text)
    for message in messages:
        if message.event == "tool_output":
            assert json.loads(message.data)["name"]
    answer = "".join(m.data for m in messages if m.event == "chunk")
    assert answer.strip() and "Miami" in answer
    assert messages[-1].event == "end"


def test_json_format_carries_ids_and_statuses(lex_server: ServerFactory) -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Seattle"})), text("Rain gear ready!")]
    )
    with lex_server(chat_model=model) as base_url:
        response = post_query(base_url, "weather in Seattle", "s-json", stream_format="json")
    events = parse_sse(response.text)
    payloads = [(event.event, event.json()) for event in events]
    assert payloads[0] == (
        "tool_use",
        {"id": "call_0", "name": "get_weather", "args": {"city": "Seattle"}},
    )
    name, output = payloads[1]
    assert name == "tool_output"
    assert output["id"] == "call_0" and output["status"] == "success"
    assert output["name"] == "get_weather" and "Seattle" in output["output"]
    chunks = [p for n, p in payloads if n == "chunk"]
    assert "".join(c["text"] for c in chunks) == "Rain gear ready!"
    assert all(c["message_id"] for c in chunks)
    end_name, end = payloads[-1]
    assert end_name == "end"
    assert end["status"] == "completed" and end["session_id"] == "s-json"
    assert end["tools"] == ["get_weather"]


def test_history_survives_a_restart(lex_server: ServerFactory) -> None:
    first = ScriptedChatModel(script=[text("Nice to meet you, Ada.")])
    with lex_server(chat_model=first) as base_url:
        post_query(base_url, "Hi, I am Ada", "s-restart")
    second = ScriptedChatModel(script=[text("You are Ada.")])
    with lex_server(chat_model=second) as base_url:
        response = post_query(base_url, "Who am I?", "s-restart")
    assert "You are Ada." in "".join(e.data for e in parse_sse(response.text) if e.event == "chunk")
    seen = [m.text for m in second.received[0][1:]]
    assert seen == ["Hi, I am Ada", "Nice to meet you, Ada.", "Who am I?"]


def test_sessions_do_not_share_history(lex_server: ServerFactory) -> None:
    model = ScriptedChatModel(script=[text("One."), text("Two.")])
    with lex_server(chat_model=model) as base_url:
        post_query(base_url, "first", "s-a")
        post_query(base_url, "second", "s-b")
    assert [m.text for m in model.received[1][1:]] == ["second"]


def test_model_failure_ends_the_stream_politely_and_the_session_goes_on(
    lex_server: ServerFactory,
) -> None:
    model = ScriptedChatModel(script=[RuntimeError("model exploded"), text("All good now.")])
    with lex_server(chat_model=model) as base_url:
        failed = parse_sse(post_query(base_url, "hello", "s-fail").text)
        assert [e.event for e in failed] == ["chunk", "error", "end"]
        assert "exploded" not in failed[0].data
        assert failed[1].json()["retryable"] is True
        ok = parse_sse(post_query(base_url, "hello again", "s-fail").text)
    assert [e.event for e in ok][-1] == "end"
    assert "All good now." in "".join(e.data for e in ok if e.event == "chunk")


def test_cors_preflight_from_the_frontend_origin_succeeds(lex_url: str) -> None:
    response = httpx.options(
        f"{lex_url}/query",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "http://localhost:3000")
    assert "POST" in response.headers["access-control-allow-methods"]


def test_health_names_the_model_and_the_database_to_the_operator(lex_url: str) -> None:
    assert httpx.get(f"{lex_url}/health").json() == {"status": "healthy", "offline": True}
    body = httpx.get(f"{lex_url}/health", headers=OPERATOR).json()
    assert body["status"] == "healthy" and body["offline"] is True  # what anyone sees, and more
    assert body["database"] == "ok"
    assert body["model"]["provider"] == "offline"
    assert "offline" in body["model"]["warning"]
    root = httpx.get(f"{lex_url}/").json()
    assert root["status"] == "ok"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_id": "s1"}, "query"),
        ({"query": "", "session_id": "s1"}, "query"),
        ({"query": "hi"}, "session_id"),
        ({"query": "hi", "session_id": "has space"}, "session_id"),
        ({"query": "hi", "session_id": "s1", "stream_format": "xml"}, "stream_format"),
    ],
)
def test_bad_requests_get_a_clear_422_and_save_nothing(
    lex_url: str, tmp_path: Path, body: dict[str, object], field: str
) -> None:
    response = httpx.post(f"{lex_url}/query", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["message"]
    with sqlite3.connect(tmp_path / "lex.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM checkpoints").fetchone() == (0,)
