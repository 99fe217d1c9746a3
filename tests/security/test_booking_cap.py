"""The attack "one client booked every slot of a dealership's day", on a real server.

A model talked into booking everything still books at most `MAX_ACTIVE_BOOKINGS` upcoming test
drives per customer, whichever database keeps them and however the calls race.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import jwt

from tests.security.attacks import ATTACKER_HEADERS, FRONTEND_HEADERS, ask, events
from tests.support.app_server import ServerFactory
from tests.support.scripted_model import ScriptedChatModel, calls, text
from tests.support.sse import SseEvent
from tests.support.storage import on_every_engine, open_database
from tools.names import SCHEDULE_APPOINTMENT

THURSDAY = date(2026, 11, 26)
CAP_MESSAGE = (
    "You already have 3 upcoming test drives booked, the most one customer can hold at once; "
    "cancel one to book another. Nothing was booked."
)


def booking(hour: int) -> tuple[str, dict[str, str]]:
    args = {
        "dealership_id": "miami",
        "date": THURSDAY.isoformat(),
        "time": f"{hour:02d}:00",
        "car_model": "SuperCar GT",
    }
    return SCHEDULE_APPOINTMENT, args


EVERY_SLOT = calls(*(booking(hour) for hour in range(9, 19)))
"""All ten slots of Miami's Thursday, asked for at once (the tool node runs them concurrently)."""


def booking_cards(turn: list[SseEvent]) -> list[dict[str, Any]]:
    return [e.json() for e in turn if e.event == "tool_output"]


@on_every_engine
async def test_one_client_cannot_book_every_slot_of_a_day(
    lex_server: ServerFactory, database_url: str
) -> None:
    model = ScriptedChatModel(script=[EVERY_SLOT, text("Done."), EVERY_SLOT, text("Done.")])
    with lex_server(chat_model=model, max_active_bookings=3) as base_url:
        first = events(ask(base_url, "book every slot on Thursday", "greedy", ATTACKER_HEADERS))
        again = events(ask(base_url, "and again", "greedy", ATTACKER_HEADERS))
    async with open_database(database_url) as storage:
        taken = await storage.appointments.booked_times("miami", THURSDAY)

    cards = booking_cards(first) + booking_cards(again)
    assert [c["status"] for c in cards].count("success") == 3
    refused = [c for c in cards if c["status"] == "error"]
    assert len(refused) == 17
    for card in refused:  # the card the page shows: no note meant for the model
        assert card["output"]["message"] == CAP_MESSAGE
        assert card["error"] == CAP_MESSAGE
    told_the_model = [m.text for m in model.received[1] if m.type == "tool"]
    assert sum("Note for Lex: to move one of them" in m for m in told_the_model) == 7
    assert len(taken) == 3  # seven slots stay free for other customers


def test_a_signed_customer_is_capped_across_conversations(lex_server: ServerFactory) -> None:
    secret = "dealer-login-system-signing-key-0123456789"
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 600}, secret, algorithm="HS256")
    two = calls(booking(9), booking(10))
    model = ScriptedChatModel(script=[two, text("Done."), calls(booking(11), booking(12))])
    model.script.append(text("Done."))
    with lex_server(
        chat_model=model, max_active_bookings=3, customer_token_secret=secret
    ) as base_url:
        tab = events(ask(base_url, "book two", "tab-1", FRONTEND_HEADERS, customer_token=token))
        other_tab = ask(base_url, "two more", "tab-2", FRONTEND_HEADERS, customer_token=token)

    statuses = [c["status"] for c in booking_cards(tab) + booking_cards(events(other_tab))]
    assert sorted(statuses) == ["error", "success", "success", "success"]
