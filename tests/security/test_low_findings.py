"""Low-severity findings: malformed Last-Event-ID, notes meant for the model shown on a card."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import ToolMessage

from agent.tool_calls import UNEXPECTED_TOOL_FAILURE
from api.stream.cards import card_output
from tests.security.attacks import ask, create_session, events
from tests.support.app_server import ServerFactory


@pytest.mark.parametrize("last_event_id", ["x:" + "9" * 5000, "run:²", "é" * 300])
def test_a_strange_last_event_id_is_not_a_server_error(
    lex_server: ServerFactory, last_event_id: str
) -> None:
    with lex_server() as base_url:
        session = create_session(base_url)
        events(ask(base_url, "hello", session.session_id, session.auth))
        response = httpx.get(
            f"{base_url}/sessions/{session.session_id}/stream",
            headers=[*session.auth.items(), ("Last-Event-ID", last_event_id.encode())],
            timeout=10,
        )
    assert response.status_code == 200
    assert response.text.rstrip().endswith("event: end\ndata:")


def test_a_note_meant_for_the_model_never_reaches_a_booking_card() -> None:
    failed = ToolMessage(
        content=UNEXPECTED_TOOL_FAILURE,
        tool_call_id="call-1",
        name="schedule_appointment",
        status="error",
    )
    card = card_output(failed, {"date": "2026-11-26", "time": "10:00", "car_model": "GT"})
    assert "Tell the customer" not in str(card) and "Note for Lex" not in str(card)
    assert "failed unexpectedly" in card["message"]
