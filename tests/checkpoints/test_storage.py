"""The stores on one SQLite file write one at a time, queued in the process, not in SQLite."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from checkpoints.saver import thread_id_for
from checkpoints.storage import open_sqlite_storage


async def test_the_session_list_and_the_book_wait_for_the_savers_write_lock(
    tmp_path: Path,
) -> None:
    async with open_sqlite_storage(tmp_path / "lex.sqlite") as storage:
        saver = storage.checkpointer
        async with saver.lock:  # held as the saver holds it from its first write to its commit
            recorded = asyncio.create_task(
                storage.sessions.record_turn("s-1", thread_id_for("s-1"), "hello")
            )
            booked = asyncio.create_task(
                storage.appointments.book(
                    user_id="u-1",
                    dealership_id="miami",
                    day=date(2026, 12, 3),
                    time="10:00",
                    model="GT",
                )
            )
            await asyncio.sleep(0.2)
            assert not recorded.done() and not booked.done()
        record = await asyncio.wait_for(recorded, 5)
        appointment = await asyncio.wait_for(booked, 5)
        assert record.turn_count == 1
        assert appointment.dealership_id == "miami"
