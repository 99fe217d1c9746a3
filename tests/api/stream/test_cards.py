"""The card a failed booking shows: what the customer reads, never the note meant for the model."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from agent.tool_calls import UNEXPECTED_TOOL_FAILURE
from api.stream.cards import card_output
from tools.domain.appointment_book import NOTHING_BOOKED
from tools.names import SCHEDULE_APPOINTMENT

ARGS = {"date": "2026-12-04", "time": "10:00", "car_model": "SuperCar GT"}


def failed_booking(text: str) -> ToolMessage:
    return ToolMessage(text, tool_call_id="call-1", name=SCHEDULE_APPOINTMENT, status="error")


def test_a_booking_that_failed_unexpectedly_says_nothing_was_booked_in_sentences() -> None:
    card = card_output(failed_booking(UNEXPECTED_TOOL_FAILURE), ARGS)
    assert card["status"] == "failed" and card["confirmation_id"] == ""
    assert card["message"] == f"{NOTHING_BOOKED} The tool failed unexpectedly and did nothing."
    assert "Lex" not in card["message"]  # the note for the model stays off the card
