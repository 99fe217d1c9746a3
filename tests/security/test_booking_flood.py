"""The attack "one client fills the dealership's days through many conversations", on a real server.

`MAX_ACTIVE_BOOKINGS` caps each customer, but without a customer token each conversation is a new
customer: a client that opens ten conversations (within `SESSION_CREATE_RATE_LIMIT`) and books
three in each held thirty slots. `BOOKING_RATE_LIMIT` counts the bookings of the client itself.
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from api.settings import DEFAULT_BOOKING_RATE_LIMIT
from tests.security.attacks import (
    ATTACKER_HEADERS,
    OwnedSession,
    ask,
    create_session,
    events,
)
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.metrics import moved, scrape
from tests.support.scripted_model import ScriptedChatModel, calls, text
from tests.support.sse import SseEvent
from tests.support.storage import open_database
from tools.names import LIST_MY_APPOINTMENTS, SCHEDULE_APPOINTMENT

DAYS = (date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28))
"""Thursday to Saturday: Miami opens 09:00-19:00, ten one-hour slots a day."""
SLOTS = [(day, hour) for day in DAYS for hour in range(9, 19)]
CONVERSATIONS = 10
MIAMI_PHONE = "+1 (305) 555-0142"
REFUSAL_START = "Too many test drives have been booked from this connection"


def booking(day: date, hour: int) -> tuple[str, dict[str, str]]:
    args = {
        "dealership_id": "miami",
        "date": day.isoformat(),
        "time": f"{hour:02d}:00",
        "car_model": "SuperCar GT",
    }
    return SCHEDULE_APPOINTMENT, args


def three_bookings(conversation: int) -> list[Any]:
    """One conversation's turn: three bookings at once (the customer cap), then a reply."""
    slots = SLOTS[conversation * 3 : conversation * 3 + 3]
    return [calls(*(booking(day, hour) for day, hour in slots)), text("Done.")]


def booking_cards(turn: list[SseEvent]) -> list[dict[str, Any]]:
    return [e.json() for e in turn if e.event == "tool_output"]


async def confirmed_slots(database_url: str) -> int:
    async with open_database(database_url) as storage:
        return sum([len(await storage.appointments.booked_times("miami", day)) for day in DAYS])


def flood(base_url: str, headers: dict[str, str]) -> tuple[list[OwnedSession], list[SseEvent]]:
    """Ten new conversations (as `POST /sessions` allows), three bookings asked in each."""
    sessions = [create_session(base_url) for _ in range(CONVERSATIONS)]
    turns: list[SseEvent] = []
    for session in sessions:
        turns += events(ask(base_url, "book three", session.session_id, headers | session.auth))
    return sessions, turns


def test_one_client_cannot_fill_days_through_new_conversations(
    lex_server: ServerFactory, database_url: str
) -> None:
    script = [reply for n in range(CONVERSATIONS) for reply in three_bookings(n)]
    listing = [calls((LIST_MY_APPOINTMENTS, {})), text("You have nothing booked here.")]
    model = ScriptedChatModel(script=[*script, *listing])
    limits = {
        "max_active_bookings": 3,
        "session_create_rate_limit": "10/minute",
        "booking_rate_limit": DEFAULT_BOOKING_RATE_LIMIT,  # 5/hour;20/day
    }
    with lex_server(chat_model=model, **limits) as base_url:
        before = scrape(base_url)
        sessions, turns = flood(base_url, ATTACKER_HEADERS)
        # The conversation stays usable after a refusal: its saved history is valid.
        last = sessions[-1]
        after_refusal = events(ask(base_url, "what do I have?", last.session_id, last.auth))
        transcript = httpx.get(
            f"{base_url}/sessions/{last.session_id}", headers=last.auth, timeout=10
        )
        after = scrape(base_url)

    cards = booking_cards(turns)
    assert len(cards) == 3 * CONVERSATIONS
    assert [c["status"] for c in cards].count("success") == 5
    refused = [c for c in cards if c["status"] == "error"]
    assert len(refused) == 25
    for card in refused:  # what the page shows: polite, the dealership's phone, no model note
        message = card["output"]["message"]
        assert message.startswith(REFUSAL_START), message
        assert "Nothing was booked." in message and MIAMI_PHONE in message
        assert "Note for Lex" not in message and card["output"]["status"] == "failed"
    last_turn = model.received[2 * CONVERSATIONS - 1]  # the last conversation's tool results
    told_the_model = [m.text for m in last_turn if m.type == "tool"]
    assert len(told_the_model) == 3
    assert all(m.startswith(f"Error: {REFUSAL_START}") for m in told_the_model)
    assert all("Note for Lex:" in m for m in told_the_model)
    assert asyncio.run(confirmed_slots(database_url)) == 5  # 25 slots stay free for others
    assert booking_cards(after_refusal)[0]["status"] == "success"
    assert transcript.status_code == 200
    tool_results = [m for m in transcript.json()["messages"] if m["role"] == "tool"]
    assert len(tool_results) == 4  # three refusals and the listing, each answering its call
    limited = {"route": SCHEDULE_APPOINTMENT, "status": "429"}
    assert moved(before, after, "lex_rate_limited_requests_total", **limited) == 25


def test_the_operator_is_not_limited(lex_server: ServerFactory, database_url: str) -> None:
    model = ScriptedChatModel(script=[r for n in range(2) for r in three_bookings(n)])
    with lex_server(chat_model=model, booking_rate_limit="2/hour") as base_url:
        turns = [events(ask(base_url, "book three", f"ops-{n}", OPERATOR)) for n in range(2)]
    statuses = [c["status"] for turn in turns for c in booking_cards(turn)]
    assert statuses == ["success"] * 6
    assert asyncio.run(confirmed_slots(database_url)) == 6


def test_replicas_count_one_clients_bookings_together(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    model = ScriptedChatModel(script=[r for n in range(4) for r in three_bookings(n)])
    shared = {
        "chat_model": model,
        "booking_rate_limit": "4/hour",
        "rate_limit_storage_url": redis_url,
        "redis_key_prefix": redis_prefix,
        "session_binding_key": "replicas-share-this-binding-key",
    }
    statuses: list[str] = []
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(
                lex_server(
                    database_url=f"sqlite:///{tmp_path / name / 'lex.sqlite'}",
                    data_dir=str(tmp_path / name / "data"),
                    **shared,
                )
            )
            for name in ("a", "b")
        ]
        for n, base_url in enumerate(replicas * 2):
            turn = events(ask(base_url, "book three", f"chat-{n}", ATTACKER_HEADERS))
            statuses += [c["status"] for c in booking_cards(turn)]
    assert statuses.count("success") == 4  # of 12, on two servers counting in one Redis


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(
    lex_server: ServerFactory, database_url: str
) -> None:
    # The proxy is 127.0.0.2 (see test_abuse_limits); a customer naming another address in the
    # header itself is not believed, and the address is never saved with the conversation.
    model = ScriptedChatModel(script=[r for n in range(3) for r in three_bookings(n)])
    proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)

    def booked(forwarded_for: str, session_id: str) -> list[str]:
        headers = {**ATTACKER_HEADERS, "X-Forwarded-For": forwarded_for}
        body = {"query": "book three", "session_id": session_id, "stream_format": "json"}
        turn = events(proxy.post(f"{base_url}/query", json=body, headers=headers))
        return [c["status"] for c in booking_cards(turn)]

    limits = {"booking_rate_limit": "2/hour", "trusted_proxies": "127.0.0.0/8"}
    with proxy, lex_server(chat_model=model, **limits) as base_url:
        first = booked("203.0.113.5", "chat-1")
        spoofed = booked("203.0.113.6, 203.0.113.5", "chat-2")
        second = booked("203.0.113.6", "chat-3")
    assert first.count("success") == 2 and spoofed.count("success") == 0
    assert second.count("success") == 2
    saved = asyncio.run(saved_conversations(database_url))
    assert "Too many test drives" in saved  # what was read back is the conversations...
    assert "203.0.113" not in saved  # ...and no client address is in them


async def saved_conversations(database_url: str) -> str:
    """Every checkpoint and pending write of every conversation, decoded, as one text."""
    async with open_database(database_url) as storage:
        return "\n".join([repr(saved) async for saved in storage.checkpointer.alist(None)])


def test_the_offline_model_answers_a_refusal_politely_and_offers_no_other_slot(
    lex_server: ServerFactory,
) -> None:
    def answer(turn: list[SseEvent]) -> str:
        return "".join(e.json()["text"] for e in turn if e.event == "chunk")

    book = "Book a test drive of the SuperCar GT at Miami on 2026-11-26 at {}"
    with lex_server(booking_rate_limit="1/hour") as base_url:
        events(ask(base_url, book.format("10:00"), "first-chat", ATTACKER_HEADERS))
        refused = events(ask(base_url, book.format("11:00"), "second-chat", ATTACKER_HEADERS))
        after = events(ask(base_url, "yes", "second-chat", ATTACKER_HEADERS))

    said = answer(refused)
    assert said.startswith("Sorry, I couldn't book that test drive: Too many test drives")
    assert MIAMI_PHONE in said and "Note for Lex" not in said
    assert said.endswith("Is there anything else I can do for you?")
    assert not [e for e in after if e.event == "tool_use"]  # "yes" books nothing
