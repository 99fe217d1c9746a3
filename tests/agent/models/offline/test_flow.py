"""The offline model's booking flow against the booking cap, through the real graph and SQLite."""

from __future__ import annotations

from pathlib import Path

from tests.agent.models.offline.harness import offline_lex
from tools.names import CANCEL_APPOINTMENT, LIST_MY_APPOINTMENTS, SCHEDULE_APPOINTMENT


async def test_at_the_cap_a_new_booking_is_refused_but_a_move_goes_through(tmp_path: Path) -> None:
    async with offline_lex(tmp_path / "lex.sqlite", max_active_bookings=2) as lex:
        chat = lex.chat("alice")
        await chat.say("book the gt at miami tomorrow at 10am")
        second = await chat.say("book the volt at miami tomorrow at 2pm")
        refused = await chat.say("book the terra at dallas tomorrow at 11am")
        recap = await chat.say("actually move my volt booking to 4pm")
        moved = await chat.say("yes")
        listed = await chat.say("what appointments do I have?")

    assert "booked" in second.text
    assert refused.results[-1].status == "error"
    assert "You already have 2 upcoming test drives booked" in refused.text
    assert "Nothing was booked." in refused.text
    assert "Note for Lex" not in refused.text and "replaces" not in refused.text
    assert recap.text.endswith("Shall I move it?") and "16:00" in recap.text
    assert [name for name, _ in moved.calls][-1] == SCHEDULE_APPOINTMENT
    assert CANCEL_APPOINTMENT not in [name for name, _ in moved.calls]
    assert moved.results[-1].status == "success"
    assert moved.text.startswith("Done, your test drive is moved.")
    assert [name for name, _ in listed.calls] == [LIST_MY_APPOINTMENTS]
    booked, _, cancelled = listed.text.partition("Cancelled:")
    assert booked.startswith("You have 2 test drives booked") and "16:00" in booked
    assert "14:00" not in booked and "14:00" in cancelled
