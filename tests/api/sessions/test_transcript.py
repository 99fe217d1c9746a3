"""Saved messages back to turns: turn splitting, replayed events, how interrupted turns end."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from api.sessions.transcript import (
    TURN_OUTCOME_KEY,
    replay_turn_events,
    split_turns,
    transcript_entries,
)
from api.stream.events import TextChunk, ToolOutput, ToolUse, TurnEnd, TurnError

BOOKING_ARGS = {
    "dealership_id": "miami",
    "date": "2026-11-26",
    "time": "10:00",
    "car_model": "SuperCar GT",
}


def booking_turn() -> list[AIMessage | HumanMessage | ToolMessage]:
    return [
        HumanMessage("Book the GT at Miami on Thursday at 10", id="h1"),
        AIMessage(
            "Let me book that.",
            id="a1",
            tool_calls=[{"name": "schedule_appointment", "args": BOOKING_ARGS, "id": "c1"}],
        ),
        ToolMessage(
            "Error: That slot is already taken. Free times: 11:00, 12:00.",
            tool_call_id="c1",
            name="schedule_appointment",
            status="error",
            id="t1",
        ),
        AIMessage("Sorry, 10:00 is taken. Would 11:00 work?", id="a2"),
    ]


def test_messages_split_into_turns_at_each_user_message() -> None:
    messages = [*booking_turn(), HumanMessage("11 please", id="h2"), AIMessage("Done.", id="a3")]
    turns = split_turns(messages)
    assert [(t.index, t.query, len(t.messages)) for t in turns] == [
        (1, "Book the GT at Miami on Thursday at 10", 4),
        (2, "11 please", 2),
    ]
    assert all(turn.finished for turn in turns)


def test_a_replayed_turn_has_text_tool_calls_cards_and_end_in_stream_order() -> None:
    (turn,) = split_turns(booking_turn())
    events = replay_turn_events(turn, "s-1", "thread-1")

    assert events[0] == TextChunk(text="Let me book that.", message_id="a1")
    assert events[1] == ToolUse(id="c1", name="schedule_appointment", args=BOOKING_ARGS)
    card = events[2]
    assert isinstance(card, ToolOutput) and card.status == "error"
    # The failed booking's card is the frontend's booking card saying nothing was booked.
    assert card.output["message"].startswith("Nothing was booked.")
    assert card.output["model"] == "SuperCar GT"
    assert events[3] == TextChunk(text="Sorry, 10:00 is taken. Would 11:00 work?", message_id="a2")
    end = events[4]
    assert isinstance(end, TurnEnd) and end.status == "completed"
    assert end.details["tools"] == ["schedule_appointment"] and end.details["turn"] == 1


def test_a_turn_saved_without_an_answer_ends_as_an_error() -> None:
    messages = booking_turn()[:3]  # stopped after the tool result, before the answer
    (turn,) = split_turns(messages)
    end = replay_turn_events(turn, "s-1", "thread-1")[-1]
    assert isinstance(end, TurnEnd) and end.status == "error"


def test_a_closing_message_with_an_outcome_replays_its_error_and_status() -> None:
    closing = AIMessage(
        "Sorry, Lex is very busy right now. Please try again in a moment.",
        id="a9",
        response_metadata={
            TURN_OUTCOME_KEY: {
                "status": "error",
                "error": {
                    "code": "rate_limited",
                    "message": "Lex is very busy.",
                    "retryable": True,
                },
            }
        },
    )
    (turn,) = split_turns([HumanMessage("hi", id="h1"), closing])
    events = replay_turn_events(turn, "s-1", "thread-1")
    assert [type(e) for e in events] == [TextChunk, TurnError, TurnEnd]
    assert events[1] == TurnError("rate_limited", "Lex is very busy.", True)
    end = events[2]
    assert isinstance(end, TurnEnd) and end.status == "error"

    stopped = AIMessage(
        "(stopped)", id="a8", response_metadata={TURN_OUTCOME_KEY: {"status": "cancelled"}}
    )
    (turn,) = split_turns([HumanMessage("hi", id="h1"), stopped])
    last = replay_turn_events(turn, "s-1", "thread-1")[-1]
    assert isinstance(last, TurnEnd) and last.status == "cancelled"


def test_transcript_entries_carry_roles_calls_results_and_known_times() -> None:
    entries = transcript_entries(booking_turn(), {})
    assert [(e.role, e.turn) for e in entries] == [
        ("user", 1),
        ("assistant", 1),
        ("tool", 1),
        ("assistant", 1),
    ]
    assert entries[1].tool_calls == [
        {"id": "c1", "name": "schedule_appointment", "args": BOOKING_ARGS}
    ]
    assert entries[2].status == "error" and entries[2].name == "schedule_appointment"
    assert entries[2].error == "That slot is already taken. Free times: 11:00, 12:00."
    assert all(entry.created_at is None for entry in entries)
