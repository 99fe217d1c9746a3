"""The appointment books: atomic slots, persistence, privacy, on SQLite and on Postgres alike."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

import checkpoints.appointments as appointments_module
import checkpoints.postgres.appointments as postgres_appointments_module
from checkpoints.appointments import appointment_from_row, appointment_row, open_appointment_book
from tests.support.storage import on_every_engine, open_database
from tests.tools.support import runtime_for
from tools import SlotTakenError, ToolServices, build_tools
from tools.domain.appointment_book import (
    Appointment,
    AppointmentBook,
    BookingCap,
    BookingCapError,
    NotReplaceableError,
    confirmed_appointment,
)
from tools.names import SCHEDULE_APPOINTMENT

THURSDAY = date(2026, 11, 26)
FIXED_NOW = datetime(2026, 11, 24, 19, 5, tzinfo=UTC)  # Tuesday 14:05 in Miami


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "lex.sqlite"


def test_an_appointment_is_stored_as_the_row_it_is_read_back_from() -> None:
    booked = confirmed_appointment(
        "SC-7K3F9Q",
        user_id="alice",
        dealership_id="miami",
        day=THURSDAY,
        time="10:00",
        model="SuperCar GT",
        created_at=FIXED_NOW,
    )
    assert booked.status == "confirmed"
    for appointment in (booked, replace(booked, status="cancelled")):
        row = appointment_row(appointment)
        assert row[2:4] == ("miami", "2026-11-26")
        assert appointment_from_row(row) == appointment


@on_every_engine
async def test_twenty_concurrent_bookings_of_one_slot_give_exactly_one_confirmation(
    database_url: str,
) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        tools = build_tools(ToolServices(appointments=book, clock=lambda: FIXED_NOW))
        schedule = next(t for t in tools if t.name == SCHEDULE_APPOINTMENT)
        calls = [
            schedule.ainvoke(
                {
                    "type": "tool_call",
                    "id": f"call-{n}",
                    "name": SCHEDULE_APPOINTMENT,
                    "args": {
                        "runtime": runtime_for(f"customer-{n}"),
                        "dealership_id": "miami",
                        "date": "2026-11-26",
                        "time": "10:00",
                        "car_model": "SuperCar GT",
                    },
                }
            )
            for n in range(20)
        ]

        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        booked = [a for n in range(20) for a in await book.list_for_user(f"customer-{n}")]

    confirmed = [o for o in outcomes if isinstance(o, ToolMessage)]
    refused = [o for o in outcomes if isinstance(o, ToolException)]
    assert len(confirmed) == 1
    assert len(refused) == 19
    assert all(str(r).startswith("That slot was just taken") for r in refused)
    assert all("Nothing was booked." in str(r) and "10:00," not in str(r) for r in refused)
    assert [a.status for a in booked] == ["confirmed"]


@on_every_engine
async def test_two_connections_racing_for_a_slot_cannot_both_win(database_url: str) -> None:
    async with open_database(database_url) as one, open_database(database_url) as other:
        first, second = one.appointments, other.appointments
        attempts = [
            (first if n % 2 else second).book(
                user_id=f"customer-{n}",
                dealership_id="chicago",
                day=THURSDAY,
                time="13:00",
                model="SuperCar Volt",
            )
            for n in range(20)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)

        assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
        assert all(isinstance(o, SlotTakenError) for o in outcomes if isinstance(o, BaseException))
        assert await second.booked_times("chicago", THURSDAY) == {"13:00"}


@on_every_engine
async def test_bookings_survive_closing_and_reopening_the_database(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        kept = await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )
        dropped = await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="11:00", model="SuperCar GT"
        )
        await book.cancel("alice", dropped.confirmation_id)

    async with open_database(database_url) as storage:
        reopened = storage.appointments
        listed = await reopened.list_for_user("alice")
        booked = await reopened.booked_times("miami", THURSDAY)

    assert [(a.confirmation_id, a.time, a.status) for a in listed] == [
        (kept.confirmation_id, "10:00", "confirmed"),
        (dropped.confirmation_id, "11:00", "cancelled"),
    ]
    assert listed[0] == kept
    assert booked == {"10:00"}


@on_every_engine
async def test_cancelling_frees_the_slot_for_someone_else(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        first = await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )
        with pytest.raises(SlotTakenError):
            await book.book(
                user_id="bob",
                dealership_id="miami",
                day=THURSDAY,
                time="10:00",
                model="SuperCar GT",
            )

        assert await book.cancel("bob", first.confirmation_id) is None  # not Bob's to cancel
        cancelled = await book.cancel("alice", first.confirmation_id)
        again = await book.cancel("alice", first.confirmation_id)
        second = await book.book(
            user_id="bob", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )

    assert cancelled is not None and cancelled.status == "cancelled"
    assert again is None
    assert second.confirmation_id != first.confirmation_id


@on_every_engine
async def test_others_bookings_are_invisible(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        alices = await book.book(
            user_id="alice", dealership_id="dallas", day=THURSDAY, time="09:00", model="SuperCar GT"
        )

        assert await book.get("bob", alices.confirmation_id) is None
        assert await book.list_for_user("bob") == []
        assert await book.get("alice", alices.confirmation_id) == alices


async def test_the_database_itself_refuses_a_second_confirmed_booking(db_path: Path) -> None:
    async with open_appointment_book(db_path) as book:
        await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )

    insert = (
        "INSERT INTO appointments (confirmation_id, user_id, dealership_id, date, time, model, "
        "status, created_at) VALUES (?, 'bob', 'miami', '2026-11-26', '10:00', 'SuperCar GT', ?, "
        "'2026-11-24T19:05:00+00:00')"
    )
    with sqlite3.connect(db_path) as raw:
        raw.execute(insert, ("SC-AAAAAA", "cancelled"))  # cancelled rows do not hold the slot
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            raw.execute(insert, ("SC-BBBBBB", "confirmed"))


async def test_postgres_itself_refuses_a_second_confirmed_booking(postgres_url: str) -> None:
    async with open_database(postgres_url) as storage:
        await storage.appointments.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )

    insert = (
        "INSERT INTO appointments (confirmation_id, user_id, dealership_id, date, time, model, "
        "status, created_at) VALUES (%s, 'bob', 'miami', '2026-11-26', '10:00', 'SuperCar GT', "
        "%s, '2026-11-24T19:05:00+00:00')"
    )
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute(insert, ("SC-AAAAAA", "cancelled"))  # cancelled rows do not hold the slot
        with pytest.raises(psycopg.errors.UniqueViolation):
            raw.execute(insert, ("SC-BBBBBB", "confirmed"))


@on_every_engine
async def test_a_colliding_confirmation_id_is_drawn_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: Iterator[str] = iter(["SC-AAAAAA", "SC-AAAAAA", "SC-BBBBBB"])
    for module in (appointments_module, postgres_appointments_module):
        monkeypatch.setattr(module, "new_confirmation_id", lambda: next(drawn))

    async with open_database(database_url) as storage:
        book = storage.appointments
        first = await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="10:00", model="SuperCar GT"
        )
        second = await book.book(
            user_id="alice", dealership_id="miami", day=THURSDAY, time="11:00", model="SuperCar GT"
        )

    assert (first.confirmation_id, second.confirmation_id) == ("SC-AAAAAA", "SC-BBBBBB")


async def test_the_table_lives_beside_the_checkpoints_in_wal_mode(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    async with AsyncSqliteSaver.from_conn_string(str(db_path)) as saver:
        await saver.setup()
        async with open_appointment_book(db_path) as book:
            await book.book(
                user_id="alice",
                dealership_id="miami",
                day=THURSDAY,
                time="10:00",
                model="SuperCar GT",
            )
            assert await saver.aget_tuple({"configurable": {"thread_id": "t-1"}}) is None

    with sqlite3.connect(db_path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        journal_mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"appointments", "checkpoints", "appointments_one_confirmed_per_slot"} <= tables
    assert journal_mode == "wal"


# --- the cap on a customer's upcoming bookings, and moves ---

FRIDAY = date(2026, 11, 27)


def cap_of(most: int, *, over_before: tuple[date, str] = (THURSDAY, "09:30")) -> BookingCap:
    """A cap under which bookings before `over_before` (day, time) have already taken place."""
    return BookingCap(
        most=most,
        from_day=THURSDAY - timedelta(days=1),
        upcoming=lambda a: (a.day, a.time) >= over_before,
    )


async def book_at(
    book: AppointmentBook, time: str, *, user_id: str = "alice", day: date = THURSDAY, **extra: Any
) -> Appointment:
    return await book.book(
        user_id=user_id, dealership_id="miami", day=day, time=time, model="SuperCar GT", **extra
    )


@on_every_engine
async def test_past_the_cap_a_booking_is_refused_and_nothing_is_booked(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        for time in ("10:00", "11:00", "12:00"):
            await book_at(book, time, cap=cap_of(3))
        with pytest.raises(BookingCapError) as refused:
            await book_at(book, "13:00", cap=cap_of(3))
        others = await book_at(book, "13:00", user_id="bob", cap=cap_of(3))
        listed = await book.list_for_user("alice")

    assert (refused.value.most, refused.value.held) == (3, 3)
    assert [a.time for a in listed] == ["10:00", "11:00", "12:00"]
    assert others.status == "confirmed"  # the cap is per customer


@on_every_engine
async def test_cancelled_and_past_bookings_do_not_count_against_the_cap(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        await book_at(book, "10:00", day=date(2026, 11, 20))  # a week ago: not even read
        await book_at(book, "09:00")  # earlier today: it has taken place
        dropped = await book_at(book, "10:00")
        await book.cancel("alice", dropped.confirmation_id)
        first = await book_at(book, "11:00", cap=cap_of(2))
        second = await book_at(book, "12:00", cap=cap_of(2))
        with pytest.raises(BookingCapError):
            await book_at(book, "13:00", cap=cap_of(2))

    assert first.status == second.status == "confirmed"


@on_every_engine
async def test_a_move_at_the_cap_cancels_the_old_booking_in_the_same_step(
    database_url: str,
) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        kept = await book_at(book, "10:00", cap=cap_of(2))
        old = await book_at(book, "11:00", cap=cap_of(2))
        moved = await book_at(book, "15:00", replaces=old.confirmation_id, cap=cap_of(2))
        # Another car at the same time: the slot it holds is its own to keep.
        same_slot = await book.book(
            user_id="alice",
            dealership_id="miami",
            day=THURSDAY,
            time="15:00",
            model="SuperCar Volt",
            replaces=moved.confirmation_id,
            cap=cap_of(2),
        )
        listed = {a.confirmation_id: a.status for a in await book.list_for_user("alice")}
        booked = await book.booked_times("miami", THURSDAY)

    assert listed == {
        kept.confirmation_id: "confirmed",
        old.confirmation_id: "cancelled",
        moved.confirmation_id: "cancelled",
        same_slot.confirmation_id: "confirmed",
    }
    assert booked == {"10:00", "15:00"}


@on_every_engine
async def test_a_failed_move_keeps_the_old_booking(database_url: str) -> None:
    async with open_database(database_url) as storage:
        book = storage.appointments
        old = await book_at(book, "10:00")
        await book_at(book, "15:00", user_id="bob")
        with pytest.raises(SlotTakenError):
            await book_at(book, "15:00", replaces=old.confirmation_id, cap=cap_of(1))
        bobs = await book_at(book, "16:00", user_id="bob")
        with pytest.raises(NotReplaceableError):  # not Alice's to move
            await book_at(book, "17:00", replaces=bobs.confirmation_id)
        await book.cancel("alice", old.confirmation_id)
        with pytest.raises(NotReplaceableError):  # already cancelled
            await book_at(book, "17:00", replaces=old.confirmation_id)
        listed = await book.list_for_user("alice")
        booked = await book.booked_times("miami", THURSDAY)

    assert [(a.time, a.status) for a in listed] == [("10:00", "cancelled")]
    assert booked == {"15:00", "16:00"}


@on_every_engine
async def test_parallel_bookings_of_one_customer_across_connections_stop_at_the_cap(
    database_url: str,
) -> None:
    async with open_database(database_url) as one, open_database(database_url) as other:
        attempts = [
            (one if n % 2 else other).appointments.book(
                user_id="alice",
                dealership_id="miami",
                day=FRIDAY,
                time=f"{9 + n:02d}:00",
                model="SuperCar GT",
                cap=cap_of(3),
            )
            for n in range(10)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        listed = await one.appointments.list_for_user("alice")

    assert sum(isinstance(o, Appointment) for o in outcomes) == 3
    assert all(isinstance(o, BookingCapError) for o in outcomes if not isinstance(o, Appointment))
    assert len(listed) == 3 and {a.status for a in listed} == {"confirmed"}


@on_every_engine
async def test_parallel_moves_of_one_booking_move_it_once(database_url: str) -> None:
    async with open_database(database_url) as one, open_database(database_url) as other:
        old = await book_at(one.appointments, "10:00")
        attempts = [
            book_at(
                (one if n % 2 else other).appointments,
                f"{11 + n:02d}:00",
                replaces=old.confirmation_id,
                cap=cap_of(1),
            )
            for n in range(6)
        ]
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        listed = await one.appointments.list_for_user("alice")

    assert sum(isinstance(o, Appointment) for o in outcomes) == 1
    assert all(
        isinstance(o, NotReplaceableError) for o in outcomes if not isinstance(o, Appointment)
    )
    assert sorted(a.status for a in listed) == ["cancelled", "confirmed"]
