"""Booking through POST /query with the offline model: one slot, two customers, one booking."""

from __future__ import annotations

import httpx

from tests.support.app_server import ServerFactory
from tests.support.sse import SseEvent, parse_sse

BOOK_GT = "Book a test drive of the SuperCar GT at Miami on 2026-11-26 at 10:00"


def ask(base_url: str, query: str, session_id: str, stream_format: str = "text") -> list[SseEvent]:
    body = {"query": query, "session_id": session_id, "stream_format": stream_format}
    response = httpx.post(f"{base_url}/query", json=body, timeout=30)
    assert response.status_code == 200
    return parse_sse(response.text)


def card(events: list[SseEvent], tool: str) -> object:
    outputs = [e.json() for e in events if e.event == "tool_output"]
    return next(o["output"] for o in outputs if o["name"] == tool)


def answer(events: list[SseEvent]) -> str:
    return "".join(e.data for e in events if e.event == "chunk")


def test_a_slot_is_booked_once_and_the_second_customer_is_told(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        first = ask(base_url, BOOK_GT, "customer-a")
        second = ask(base_url, BOOK_GT, "customer-b")
        mine_a = ask(base_url, "Show my appointments", "customer-a")
        mine_b = ask(base_url, "Show my appointments", "customer-b")

    booked = card(first, "schedule_appointment")
    assert isinstance(booked, dict)
    assert booked["status"] == "confirmed"
    assert booked["date"] == "2026-11-26" and booked["time"] == "10:00"
    assert booked["model"] == "SuperCar GT"
    assert booked["confirmation_id"].startswith("SC-")

    # The second customer's slot is checked before booking: taken, so nothing is attempted and
    # the nearest free times are offered instead.
    checked = card(second, "check_appointment_availability")
    assert isinstance(checked, dict)
    assert "10:00" not in checked["availableTimes"] and "11:00" in checked["availableTimes"]
    assert not [e for e in second if e.event == "tool_use" and e.data == "schedule_appointment"]
    assert "10:00 on Thursday 2026-11-26 is not free" in answer(second)
    assert "11:00" in answer(second)

    listed_a = card(mine_a, "list_my_appointments")
    listed_b = card(mine_b, "list_my_appointments")
    assert isinstance(listed_a, dict) and isinstance(listed_b, dict)
    assert [a["confirmation_id"] for a in listed_a["appointments"]] == [booked["confirmation_id"]]
    assert listed_b["appointments"] == []


def test_another_session_cannot_cancel_my_booking(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        booked = card(ask(base_url, BOOK_GT, "owner"), "schedule_appointment")
        assert isinstance(booked, dict)
        cancel = f"Cancel appointment {booked['confirmation_id']}"
        attempt = ask(base_url, cancel, "intruder", stream_format="json")
        still = card(ask(base_url, "Show my appointments", "owner"), "list_my_appointments")
    outputs = [e.json() for e in attempt if e.event == "tool_output"]
    assert outputs and outputs[0]["status"] == "error"
    assert "no booking with confirmation id" in outputs[0]["error"].lower()
    assert isinstance(still, dict)
    assert still["appointments"][0]["status"] == "confirmed"


def test_a_user_id_cannot_pass_for_another_session(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        booked = card(ask(base_url, BOOK_GT, "victim"), "schedule_appointment")
        body = {
            "query": "Show my appointments",
            "session_id": "attacker",
            "user_id": "session:victim",
        }
        response = httpx.post(f"{base_url}/query", json=body, timeout=30)
        mine = card(ask(base_url, "Show my appointments", "victim"), "list_my_appointments")
    assert isinstance(booked, dict) and booked["status"] == "confirmed"
    assert response.status_code == 403  # a user_id nobody vouched for is refused
    assert isinstance(mine, dict) and len(mine["appointments"]) == 1
