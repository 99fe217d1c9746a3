"""The provided Next.js frontend's flow, byte for byte as it talks: still works with owners.

It makes a new `premium_client-<ms>` id per page load, sends only `{query, session_id}` with its
two headers from http://localhost:3000 (after a CORS preflight), and reads the stream by lines.
Its conversation is bound to it: several turns see each other, tool cards render.
"""

from __future__ import annotations

import json
import time

import httpx

from tests.security.attacks import FRONTEND_HEADERS, FRONTEND_ORIGIN
from tests.support.sse import FrontendMessage, parse_like_frontend


def send_like_frontend(client: httpx.Client, query: str, session_id: str) -> list[FrontendMessage]:
    preflight = client.options(
        "/query",
        headers={
            "Origin": FRONTEND_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND_ORIGIN
    response = client.post(
        "/query", content=json.dumps({"query": query, "session_id": session_id}).encode()
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND_ORIGIN
    return parse_like_frontend(response.content.decode())


def cards(messages: list[FrontendMessage]) -> dict[str, object]:
    outputs = [json.loads(m.data) for m in messages if m.event == "tool_output"]
    return {o["name"]: o["output"] for o in outputs}


def test_the_frontend_chats_over_several_turns_with_tool_cards(lex_url: str) -> None:
    session_id = f"premium_client-{int(time.time() * 1000)}"
    with httpx.Client(base_url=lex_url, headers=FRONTEND_HEADERS, timeout=30) as client:
        weather = send_like_frontend(client, "What's the weather in Miami?", session_id)
        slots = send_like_frontend(
            client, "Which times are free at the Miami dealership tomorrow?", session_id
        )
        booking = send_like_frontend(client, "Book 10:00 for a SuperCar GT", session_id)
        booked = cards(booking)["schedule_appointment"]
        assert isinstance(booked, dict)
        cancel = send_like_frontend(
            client, f"Cancel appointment {booked['confirmation_id']}", session_id
        )

    for turn in (weather, slots, booking, cancel):
        assert turn[-1] == FrontendMessage("end", "")
        assert any(m.event == "chunk" and m.data for m in turn)
        assert all(
            json.loads(m.data)["output"] is not None for m in turn if m.event == "tool_output"
        )
    assert "°C" in str(cards(weather)["get_weather"])
    assert "10:00" in cards(slots)["check_appointment_availability"]["availableTimes"]  # type: ignore[index]
    # "Book 10:00" completes the booking discussed a turn before: the history is the client's.
    confirmation = cards(booking)["schedule_appointment"]
    assert isinstance(confirmation, dict) and confirmation["status"] == "confirmed"
    assert confirmation["model"] == "SuperCar GT" and confirmation["date"] == "2026-11-25"
    cancelled = cards(cancel)["cancel_appointment"]
    assert confirmation["confirmation_id"] in json.dumps(cancelled)
