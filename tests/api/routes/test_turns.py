"""Rejoining a session's turn over HTTP (`GET /sessions/{id}/stream`) after it ended."""

from __future__ import annotations

import httpx

from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.sse import parse_sse


def test_a_client_that_saw_the_end_gets_only_the_end_again(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        body = {"query": "What's the weather in Miami?", "session_id": "s-rejoin-end"}
        full = parse_sse(
            httpx.post(f"{base_url}/query", json=body, headers=OPERATOR, timeout=30).text
        )
        run_id, _, last = full[-1].id.rpartition(":")
        rejoined = [
            httpx.get(
                f"{base_url}/sessions/s-rejoin-end/stream",
                headers={**OPERATOR, "Last-Event-ID": f"{run_id}:{seen}"},
                timeout=30,
            )
            for seen in (int(last), int(last) + 8, 999_999)
        ]
    assert full[-1].event == "end"
    for response in rejoined:
        assert response.status_code == 200
        events = parse_sse(response.text)
        assert [(e.event, e.id) for e in events] == [("end", full[-1].id)]
        assert "restarting" not in response.text
