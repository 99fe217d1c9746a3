"""The booking tools as the graph calls them, over both appointment books and a fixed clock.

The clock reads Tuesday 2026-11-24, 14:05 in Miami (19:05 UTC) unless a test moves it.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from langchain_core.tools import BaseTool, ToolException

from tests.tools.support import CountingQuota, FakeClock, call, content
from tools import AppointmentBook, ToolServices, build_tools
from tools.bookings import too_many_from_client
from tools.content import FOR_THE_MODEL
from tools.domain.directory import DEALERSHIPS_BY_ID
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
)

MIAMI_THURSDAY = [f"{hour:02d}:00" for hour in range(9, 19)]
ALICE, BOB = "alice", "bob"


async def availability(tools: dict[str, BaseTool], dealership_id: str, day: str) -> Any:
    return await call(tools[CHECK_APPOINTMENT_AVAILABILITY], dealership_id=dealership_id, date=day)


async def book(
    tools: dict[str, BaseTool],
    *,
    user_id: str = ALICE,
    client: str | None = None,
    dealership_id: str = "miami",
    day: str = "2026-11-26",
    time: str = "10:00",
    car_model: str = "SuperCar GT",
) -> dict[str, Any]:
    message = await call(
        tools[SCHEDULE_APPOINTMENT],
        user_id=user_id,
        client=client,
        dealership_id=dealership_id,
        date=day,
        time=time,
        car_model=car_model,
    )
    data: dict[str, Any] = content(message)
    assert message.artifact == data
    return data


# --- check_appointment_availability ---


async def test_availability_lists_the_whole_grid_of_an_open_day(
    tools: dict[str, BaseTool],
) -> None:
    message = await availability(tools, "miami", "2026-11-26")

    assert content(message) == {
        "dealership_id": "miami",
        "date": "2026-11-26",
        "available_times": MIAMI_THURSDAY,
    }
    assert message.artifact == {
        "dealership_id": "miami",
        "date": "2026-11-26",
        "availableTimes": MIAMI_THURSDAY,
    }


async def test_availability_uses_each_dealerships_slot_length(tools: dict[str, BaseTool]) -> None:
    message = await availability(tools, "Los Angeles", "2026-11-26")

    times = content(message)["available_times"]
    assert times[:3] == ["10:00", "10:30", "11:00"]
    assert times[-1] == "19:30"
    assert len(times) == 20


async def test_availability_today_leaves_out_slots_that_have_started(
    tools: dict[str, BaseTool],
) -> None:
    message = await availability(tools, "miami", "2026-11-24")

    assert content(message)["available_times"] == ["15:00", "16:00", "17:00", "18:00"]


async def test_availability_today_after_closing_is_empty_with_a_reason(
    tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    clock.set("2026-11-25T00:30:00+00:00")  # 19:30 on Tuesday in Miami, after closing

    message = await availability(tools, "miami", "2026-11-24")

    data = content(message)
    assert data["available_times"] == []
    assert "No test-drive slots are left today" in data["note"]
    assert message.artifact["availableTimes"] == []


@pytest.mark.parametrize(
    ("dealership_id", "day", "weekday"),
    [("miami", "2026-11-29", "Sundays"), ("seattle", "2026-11-30", "Mondays")],
)
async def test_availability_on_a_closed_weekday_says_it_is_closed(
    tools: dict[str, BaseTool], dealership_id: str, day: str, weekday: str
) -> None:
    message = await availability(tools, dealership_id, day)

    data = content(message)
    assert data["available_times"] == []
    assert f"closed on {weekday}" in data["note"]
    assert "Opening hours:" in data["note"]


async def test_availability_leaves_out_booked_slots(tools: dict[str, BaseTool]) -> None:
    await book(tools, time="10:00")
    await book(tools, user_id=BOB, time="15:00", car_model="volt")

    message = await availability(tools, "miami", "2026-11-26")

    times = content(message)["available_times"]
    assert "10:00" not in times
    assert "15:00" not in times
    assert len(times) == len(MIAMI_THURSDAY) - 2


async def test_a_fully_booked_day_says_so(tools: dict[str, BaseTool]) -> None:
    saturday = "2026-11-28"  # Denver: Sat 10:00-16:00, hourly
    for hour in range(10, 16):
        await book(tools, dealership_id="denver", day=saturday, time=f"{hour}:00")

    data = content(await availability(tools, "denver", saturday))

    assert data["available_times"] == []
    assert "already booked" in data["note"]


async def test_los_angeles_is_still_on_the_previous_day_after_utc_midnight(
    tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    clock.set("2026-11-25T02:30:00+00:00")  # Wednesday in UTC, Tuesday 18:30 in Los Angeles

    los_angeles = content(await availability(tools, "los-angeles", "2026-11-24"))
    new_york = content(await availability(tools, "new-york", "2026-11-24"))

    assert los_angeles["available_times"] == ["19:00", "19:30"]
    assert new_york["available_times"] == []  # 21:30 there, closed at 20:00
    assert "No test-drive slots are left today" in new_york["note"]


async def test_a_day_that_has_begun_in_new_york_is_in_the_past_for_nobody_yet(
    tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    clock.set("2026-11-25T05:30:00+00:00")  # Wednesday 00:30 in New York, Tuesday 21:30 in LA

    with pytest.raises(ToolException, match="in the past"):
        await availability(tools, "new-york", "2026-11-24")
    assert content(await availability(tools, "los-angeles", "2026-11-24"))["available_times"] == []


@pytest.mark.parametrize("day", ["next tuesday", "2026-13-01", "26-11-2026", "2026/11/26", ""])
async def test_availability_for_a_malformed_date_explains_the_format(
    tools: dict[str, BaseTool], day: str
) -> None:
    with pytest.raises(ToolException, match="YYYY-MM-DD") as raised:
        await availability(tools, "miami", day)
    assert "Today at SuperCar Miami is 2026-11-24 (Tuesday)" in str(raised.value)


async def test_availability_for_a_past_date_is_refused(tools: dict[str, BaseTool]) -> None:
    with pytest.raises(ToolException, match="2026-11-23 is in the past"):
        await availability(tools, "miami", "2026-11-23")


async def test_availability_is_limited_to_90_days_ahead(tools: dict[str, BaseTool]) -> None:
    last = await availability(tools, "miami", "2027-02-22")
    assert content(last)["available_times"]

    with pytest.raises(ToolException, match="up to 90 days in advance, so until 2027-02-22"):
        await availability(tools, "miami", "2027-02-23")


async def test_availability_at_an_unknown_dealership_lists_the_ids(
    tools: dict[str, BaseTool],
) -> None:
    with pytest.raises(ToolException, match="Valid dealership ids: miami"):
        await availability(tools, "gotham", "2026-11-26")


# --- schedule_appointment ---


async def test_scheduling_confirms_with_the_card_the_page_expects(
    tools: dict[str, BaseTool],
) -> None:
    data = await book(tools, car_model="gt")

    assert re.fullmatch(r"SC-[A-Z2-9]{6}", data["confirmation_id"])
    assert data == {
        "status": "confirmed",
        "confirmation_id": data["confirmation_id"],
        "dealership_id": "miami",
        "dealership_name": "SuperCar Miami",
        "date": "2026-11-26",
        "time": "10:00",
        "model": "SuperCar GT",
        "message": "Your SuperCar GT test drive at SuperCar Miami is booked for Thursday, "
        "November 26 at 10:00.",
    }


async def test_confirmation_ids_differ_between_bookings(tools: dict[str, BaseTool]) -> None:
    ids = {(await book(tools, time=f"{hour}:00"))["confirmation_id"] for hour in range(9, 19)}

    assert len(ids) == 10


@pytest.mark.parametrize(
    ("written", "model"),
    [
        ("super car roadster", "SuperCar Roadster"),
        ("SUPERCAR-VOLT", "SuperCar Volt"),
        ("terra", "SuperCar Terra"),
    ],
)
async def test_scheduling_reads_the_model_loosely(
    tools: dict[str, BaseTool], written: str, model: str
) -> None:
    assert (await book(tools, car_model=written))["model"] == model


async def test_scheduling_accepts_a_city_and_a_single_digit_hour(
    tools: dict[str, BaseTool],
) -> None:
    data = await book(tools, dealership_id="Miami", time="9:00")

    assert (data["dealership_id"], data["time"]) == ("miami", "09:00")


async def test_scheduling_on_a_half_hour_grid(tools: dict[str, BaseTool]) -> None:
    data = await book(tools, dealership_id="los-angeles", time="10:30")

    assert (data["dealership_id"], data["time"]) == ("los-angeles", "10:30")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"car_model": "Model S"}, "'Model S' is not a SuperCar model"),
        ({"car_model": "apex"}, "SuperCar Apex is not available for test drives at SuperCar"),
        ({"day": "2026-11-29"}, "closed on Sundays"),
        ({"time": "10:15"}, "10:15 is not a test-drive start time"),
        ({"time": "18:30"}, "18:30 is not a test-drive start time"),
        ({"time": "25:00"}, "not a valid time"),
        ({"time": "10am"}, "not a valid time"),
        ({"time": "09:00", "day": "2026-11-24"}, "09:00 today has already passed"),
        ({"day": "2026-11-20"}, "in the past"),
        ({"day": "tomorrow"}, "YYYY-MM-DD"),
        ({"day": "2027-03-01"}, "too far ahead"),
        ({"dealership_id": "gotham"}, "no SuperCar dealership called 'gotham'"),
    ],
)
async def test_scheduling_refuses_what_cannot_be_booked_and_books_nothing(
    tools: dict[str, BaseTool], changes: dict[str, str], reason: str
) -> None:
    with pytest.raises(ToolException, match=re.escape(reason)) as raised:
        await book(tools, **changes)

    assert "Nothing was booked." in str(raised.value)
    listed = content(await call(tools[LIST_MY_APPOINTMENTS], user_id=ALICE))
    assert listed == {"appointments": []}


async def test_an_off_grid_time_lists_the_free_times(tools: dict[str, BaseTool]) -> None:
    await book(tools, user_id=BOB, time="11:00")

    with pytest.raises(ToolException) as raised:
        await book(tools, time="10:15")

    assert "Free times that day: 09:00, 10:00, 12:00," in str(raised.value)


async def test_a_taken_slot_is_refused_with_the_free_times(tools: dict[str, BaseTool]) -> None:
    await book(tools, user_id=BOB, time="10:00")

    with pytest.raises(ToolException) as raised:
        await book(tools, time="10:00", car_model="volt")

    message = str(raised.value)
    assert message.startswith("That slot was just taken")
    assert "Nothing was booked." in message
    assert "Free times that day: 09:00, 11:00, 12:00" in message
    assert content(await call(tools[LIST_MY_APPOINTMENTS], user_id=ALICE)) == {"appointments": []}


async def test_a_slot_past_closing_of_today_is_refused_after_hours(
    tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    clock.set("2026-11-24T23:30:00+00:00")  # 18:30 in Miami: the 18:00 slot has started

    with pytest.raises(ToolException, match="18:00 today has already passed") as raised:
        await book(tools, day="2026-11-24", time="18:00")
    assert "Free times later today: none" in str(raised.value)


async def test_scheduling_without_a_known_customer_is_refused(
    tools: dict[str, BaseTool],
) -> None:
    with pytest.raises(ToolException, match="cannot tell who the customer is"):
        await book(tools, user_id=" ")


# --- list_my_appointments and cancel_appointment ---


async def test_customers_only_see_their_own_bookings_in_order(tools: dict[str, BaseTool]) -> None:
    later = await book(tools, day="2026-11-27", time="09:00", car_model="terra")
    sooner = await book(tools, dealership_id="chicago", time="13:00", car_model="volt")
    await book(tools, user_id=BOB, time="11:00")

    message = await call(tools[LIST_MY_APPOINTMENTS], user_id=ALICE)

    data = content(message)
    assert message.artifact == data
    assert data["appointments"] == [
        {
            "confirmation_id": sooner["confirmation_id"],
            "dealership_id": "chicago",
            "dealership_name": "SuperCar Chicago",
            "date": "2026-11-26",
            "time": "13:00",
            "model": "SuperCar Volt",
            "status": "confirmed",
        },
        {
            "confirmation_id": later["confirmation_id"],
            "dealership_id": "miami",
            "dealership_name": "SuperCar Miami",
            "date": "2026-11-27",
            "time": "09:00",
            "model": "SuperCar Terra",
            "status": "confirmed",
        },
    ]
    bobs = content(await call(tools[LIST_MY_APPOINTMENTS], user_id=BOB))["appointments"]
    assert [a["time"] for a in bobs] == ["11:00"]


async def test_a_new_customer_has_no_bookings(tools: dict[str, BaseTool]) -> None:
    message = await call(tools[LIST_MY_APPOINTMENTS], user_id="newcomer")

    assert content(message) == {"appointments": []}


async def test_cancelling_frees_the_slot_and_keeps_the_booking_as_cancelled(
    tools: dict[str, BaseTool],
) -> None:
    booked = await book(tools)

    message = await call(
        tools[CANCEL_APPOINTMENT],
        user_id=ALICE,
        confirmation_id=booked["confirmation_id"].lower(),
    )

    data = content(message)
    assert message.artifact == data
    assert data == {
        "status": "cancelled",
        "confirmation_id": booked["confirmation_id"],
        "message": "Your SuperCar GT test drive at SuperCar Miami on Thursday, November 26 at "
        "10:00 is cancelled.",
    }
    times = content(await availability(tools, "miami", "2026-11-26"))["available_times"]
    assert "10:00" in times
    listed = content(await call(tools[LIST_MY_APPOINTMENTS], user_id=ALICE))["appointments"]
    assert [a["status"] for a in listed] == ["cancelled"]
    rebooked = await book(tools, user_id=BOB)
    assert rebooked["confirmation_id"] != booked["confirmation_id"]


async def test_nobody_can_cancel_someone_elses_booking_or_learn_it_exists(
    tools: dict[str, BaseTool],
) -> None:
    alices = await book(tools)

    with pytest.raises(ToolException) as someone_elses:
        await call(
            tools[CANCEL_APPOINTMENT], user_id=BOB, confirmation_id=alices["confirmation_id"]
        )
    with pytest.raises(ToolException) as nonexistent:
        await call(tools[CANCEL_APPOINTMENT], user_id=BOB, confirmation_id="SC-ZZZZZZ")

    assert "No booking with confirmation id" in str(someone_elses.value)
    assert str(someone_elses.value).replace(alices["confirmation_id"], "SC-ZZZZZZ") == str(
        nonexistent.value
    )
    still = content(await call(tools[LIST_MY_APPOINTMENTS], user_id=ALICE))["appointments"]
    assert [a["status"] for a in still] == ["confirmed"]


@pytest.mark.parametrize("confirmation_id", ["", "hello", "SC-0000000", "12345"])
async def test_cancelling_a_malformed_id_is_not_found(
    tools: dict[str, BaseTool], confirmation_id: str
) -> None:
    with pytest.raises(ToolException, match="No booking with confirmation id"):
        await call(tools[CANCEL_APPOINTMENT], user_id=ALICE, confirmation_id=confirmation_id)


async def test_cancelling_twice_says_it_was_already_cancelled(tools: dict[str, BaseTool]) -> None:
    booked = await book(tools)
    await call(tools[CANCEL_APPOINTMENT], user_id=ALICE, confirmation_id=booked["confirmation_id"])

    with pytest.raises(ToolException, match="was already cancelled"):
        await call(
            tools[CANCEL_APPOINTMENT], user_id=ALICE, confirmation_id=booked["confirmation_id"]
        )


async def test_a_test_drive_that_has_started_cannot_be_cancelled(
    tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    booked = await book(tools)
    clock.set("2026-11-26T15:30:00+00:00")  # 10:30 in Miami on the day

    with pytest.raises(ToolException, match="already started or taken place"):
        await call(
            tools[CANCEL_APPOINTMENT], user_id=ALICE, confirmation_id=booked["confirmation_id"]
        )


async def test_concurrent_bookings_of_one_slot_confirm_exactly_one(
    tools: dict[str, BaseTool],
) -> None:
    attempts = [book(tools, user_id=f"customer-{n}", time="12:00") for n in range(20)]

    outcomes = await asyncio.gather(*attempts, return_exceptions=True)

    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1
    assert all(
        isinstance(o, ToolException) and str(o).startswith("That slot was just taken")
        for o in outcomes
        if not isinstance(o, dict)
    )


# --- the cap on upcoming bookings, and moves ---


@pytest.fixture
def capped(book: AppointmentBook, clock: FakeClock) -> dict[str, BaseTool]:
    """The tools with a cap of two upcoming test drives per customer."""
    services = ToolServices(appointments=book, clock=clock, max_active_bookings=2)
    return {tool.name: tool for tool in build_tools(services)}


async def test_past_the_cap_the_customer_is_told_to_cancel_and_the_model_how_to_move(
    capped: dict[str, BaseTool],
) -> None:
    await book(capped, time="10:00")
    await book(capped, time="11:00")

    with pytest.raises(ToolException) as raised:
        await book(capped, time="12:00")

    customer_part, _, for_the_model = str(raised.value).partition(FOR_THE_MODEL)
    assert customer_part == (
        "You already have 2 upcoming test drives booked, the most one customer can hold at "
        "once; cancel one to book another. Nothing was booked."
    )
    assert "replaces set to its confirmation id" in for_the_model
    assert content(await availability(capped, "miami", "2026-11-26"))["available_times"][1:4] == [
        "12:00",
        "13:00",
        "14:00",
    ]
    await book(capped, user_id=BOB, time="12:00")  # another customer has a cap of their own


async def test_a_test_drive_that_has_started_no_longer_counts(
    capped: dict[str, BaseTool], clock: FakeClock
) -> None:
    await book(capped, day="2026-11-24", time="15:00")  # this afternoon in Miami
    await book(capped, time="10:00")
    with pytest.raises(ToolException, match="You already have 2 upcoming"):
        await book(capped, time="11:00")

    clock.set("2026-11-24T20:30:00+00:00")  # 15:30 in Miami: the first has started

    assert (await book(capped, time="11:00"))["status"] == "confirmed"


async def test_a_move_at_the_cap_books_the_new_slot_and_cancels_the_old_one(
    capped: dict[str, BaseTool],
) -> None:
    await book(capped, time="10:00")
    old = await book(capped, time="11:00")

    moved = content(
        await call(
            capped[SCHEDULE_APPOINTMENT],
            user_id=ALICE,
            dealership_id="miami",
            date="2026-11-27",
            time="15:00",
            car_model="SuperCar GT",
            replaces=old["confirmation_id"].lower(),
        )
    )

    assert moved["replaced_confirmation_id"] == old["confirmation_id"]
    assert moved["message"] == (
        "Your SuperCar GT test drive at SuperCar Miami is booked for Friday, November 27 at "
        f"15:00. It replaces {old['confirmation_id']} (Thursday, November 26 at 11:00), now "
        "cancelled."
    )
    listed = content(await call(capped[LIST_MY_APPOINTMENTS], user_id=ALICE))["appointments"]
    assert [(a["date"], a["time"], a["status"]) for a in listed] == [
        ("2026-11-26", "10:00", "confirmed"),
        ("2026-11-26", "11:00", "cancelled"),
        ("2026-11-27", "15:00", "confirmed"),
    ]


async def test_a_move_that_fails_keeps_the_old_booking(capped: dict[str, BaseTool]) -> None:
    old = await book(capped, time="10:00")
    await book(capped, user_id=BOB, time="15:00")

    with pytest.raises(ToolException) as raised:
        await book_moving(capped, old["confirmation_id"], time="15:00")

    assert "That slot was just taken" in str(raised.value)
    assert f"Booking {old['confirmation_id']} stays as it is." in str(raised.value)
    listed = content(await call(capped[LIST_MY_APPOINTMENTS], user_id=ALICE))["appointments"]
    assert [(a["time"], a["status"]) for a in listed] == [("10:00", "confirmed")]


@pytest.mark.parametrize(
    ("whose", "cancelled", "reason"),
    [
        (BOB, False, "No booking with confirmation id"),
        (ALICE, True, "was already cancelled, so there is nothing to move"),
    ],
)
async def test_only_the_customers_own_confirmed_booking_can_be_moved(
    capped: dict[str, BaseTool], whose: str, cancelled: bool, reason: str
) -> None:
    other = await book(capped, user_id=whose, time="10:00")
    if cancelled:
        await call(
            capped[CANCEL_APPOINTMENT], user_id=whose, confirmation_id=other["confirmation_id"]
        )

    with pytest.raises(ToolException, match=reason) as raised:
        await book_moving(capped, other["confirmation_id"], time="12:00")

    assert "Nothing was booked." in str(raised.value)
    assert "12:00" in content(await availability(capped, "miami", "2026-11-26"))["available_times"]


async def book_moving(
    tools: dict[str, BaseTool], replaces: str, client: str | None = None, **changes: str
) -> Any:
    args = {"dealership_id": "miami", "date": "2026-11-26", "car_model": "SuperCar GT", **changes}
    return content(
        await call(
            tools[SCHEDULE_APPOINTMENT], user_id=ALICE, client=client, replaces=replaces, **args
        )
    )


# --- the per-client booking allowance ---

CLIENT, OTHER_CLIENT = "203.0.113.7", "198.51.100.4"


@pytest.fixture
def quota() -> CountingQuota:
    return CountingQuota(most=2)


@pytest.fixture
def limited(book: AppointmentBook, clock: FakeClock, quota: CountingQuota) -> dict[str, BaseTool]:
    """The tools with a cap of two upcoming test drives per customer and two per client."""
    services = ToolServices(
        appointments=book, clock=clock, max_active_bookings=2, booking_quota=quota
    )
    return {tool.name: tool for tool in build_tools(services)}


async def test_past_the_clients_allowance_the_customer_is_told_to_wait_or_call(
    limited: dict[str, BaseTool], quota: CountingQuota
) -> None:
    await book(limited, client=CLIENT, time="10:00")
    await book(limited, user_id=BOB, client=CLIENT, time="11:00")  # a new conversation

    with pytest.raises(ToolException) as raised:
        await book(limited, user_id="carol", client=CLIENT, time="12:00")

    customer_part, _, for_the_model = str(raised.value).partition(FOR_THE_MODEL)
    assert customer_part == (
        "Too many test drives have been booked from this connection recently, so this one "
        "cannot be booked online right now. Nothing was booked. Please try again in about 30 "
        "minutes, or call SuperCar Miami at +1 (305) 555-0142 to book it."
    )
    assert "offer the phone number" in for_the_model
    free = content(await availability(limited, "miami", "2026-11-26"))["available_times"]
    assert "12:00" in free
    assert quota.taken == {CLIENT: 2}
    await book(limited, user_id="carol", client=OTHER_CLIENT, time="12:00")  # its own allowance


async def test_a_booking_that_is_not_confirmed_costs_the_client_nothing(
    limited: dict[str, BaseTool], quota: CountingQuota
) -> None:
    first = await book(limited, client=CLIENT, time="10:00")
    for refusal, reason in [
        ({"user_id": BOB, "time": "10:00"}, "That slot was just taken"),
        ({"time": "10:30"}, "is not a test-drive start time"),  # refused before the allowance
        ({"day": "2026-11-29"}, "closed"),
    ]:
        with pytest.raises(ToolException, match=reason):
            await book(limited, client=CLIENT, **refusal)
    cancel = {"confirmation_id": first["confirmation_id"]}
    await call(limited[CANCEL_APPOINTMENT], user_id=ALICE, client=CLIENT, **cancel)
    await call(limited[LIST_MY_APPOINTMENTS], user_id=ALICE, client=CLIENT)
    assert quota.taken == {CLIENT: 1}
    await book(limited, client=CLIENT, time="11:00")  # the second of two

    await book(limited, client=OTHER_CLIENT, time="12:00")  # Alice now holds two: the cap
    with pytest.raises(ToolException, match="You already have 2 upcoming"):
        await book(limited, client=OTHER_CLIENT, time="13:00")
    await book(limited, user_id=BOB, client=OTHER_CLIENT, time="13:00")

    assert quota.taken == {CLIENT: 2, OTHER_CLIENT: 2}
    assert quota.asked == [CLIENT, CLIENT, CLIENT] + [OTHER_CLIENT] * 3


async def test_a_move_costs_one_booking_and_a_refused_move_keeps_the_old_one(
    limited: dict[str, BaseTool], quota: CountingQuota
) -> None:
    old = await book(limited, client=CLIENT, time="10:00")
    moved = await book_moving(limited, old["confirmation_id"], client=CLIENT, time="15:00")
    assert quota.taken == {CLIENT: 2}

    with pytest.raises(ToolException) as raised:
        await book_moving(limited, moved["confirmation_id"], client=CLIENT, time="16:00")

    assert str(raised.value).startswith("Too many test drives have been booked")
    assert f"Booking {moved['confirmation_id']} stays as it is." in str(raised.value)
    listed = content(await call(limited[LIST_MY_APPOINTMENTS], user_id=ALICE))["appointments"]
    assert [(a["time"], a["status"]) for a in listed] == [
        ("10:00", "cancelled"),
        ("15:00", "confirmed"),
    ]


async def test_a_run_without_a_client_is_not_limited(
    limited: dict[str, BaseTool], quota: CountingQuota
) -> None:
    for hour in (10, 11):
        await book(limited, user_id=f"customer-{hour}", time=f"{hour}:00")  # the operator's turns
    await book(limited, user_id="customer-12", time="12:00")

    assert quota.asked == []


@pytest.mark.parametrize(
    ("wait_s", "words"),
    [
        (20, "in a minute"),
        (61, "in about 2 minutes"),
        (3600, "in about an hour"),
        (50_000, "in about 14 hours"),
    ],
)
def test_the_wait_is_said_in_round_words(wait_s: float, words: str) -> None:
    refusal = too_many_from_client(DEALERSHIPS_BY_ID["miami"], wait_s, keep="")
    assert f"Please try again {words}, or call" in str(refusal)
