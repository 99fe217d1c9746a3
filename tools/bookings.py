"""Booking tools: availability, scheduling (and moving), listing and cancelling test drives.

The customer is read from the run's context through `ToolRuntime` (LangGraph injects it; it is
never part of the schema the model sees), so a customer only sees and changes their own bookings,
whatever the model writes. Each tool is built by its own small function over the shared services.

A customer may hold only so many upcoming test drives (`ToolServices.max_active_bookings`), so one
conversation cannot book a dealership's whole day, and a client (its connection) may make only so
many bookings for a while (`ToolServices.booking_quota`), so neither can many conversations. A move
is one `schedule_appointment` call naming the booking it replaces: the book cancels the old one in
the same step, so a customer at the cap can still move, and a failed move keeps the old booking.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolRuntime

from tools.content import FOR_THE_MODEL, compact_json
from tools.domain.appointment_book import (
    CANCELLED,
    NOTHING_BOOKED,
    Appointment,
    BookingCap,
    BookingCapError,
    NotReplaceableError,
    SlotTakenError,
    normalize_confirmation_id,
)
from tools.domain.directory import (
    DEALERSHIPS_BY_ID,
    Dealership,
    resolve_car_model,
    resolve_dealership,
)
from tools.domain.schedule import (
    day_slots,
    describe_day,
    free_slots,
    local_now,
    no_slots_reason,
    parse_day,
    parse_time,
    slot_start,
)
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
)
from tools.schema import (
    CarModelArg,
    DateArg,
    DealershipIdArg,
    OptionalConfirmationIdArg,
    TimeArg,
)
from tools.services import ToolServices

REPLACED_CONFIRMATION_ID = "replaced_confirmation_id"
"""Field of a booking's result naming the booking it moved (and cancelled)."""
CAP_REACHED = "the most one customer can hold at once"
"""Said in the refusal of a booking past the cap."""
TOO_MANY_FROM_CLIENT = "Too many test drives have been booked from this connection recently"
"""Starts the refusal of a booking past the client's allowance."""


class CustomerContext(Protocol):
    """What the booking tools read from the run's context: who the customer is."""

    user_id: str


def customer_of(runtime: ToolRuntime[Any, Any]) -> str:
    """Returns the customer the run acts for, from the run's context.

    Raises:
        ToolException: The run names no customer.
    """
    user_id = getattr(runtime.context, "user_id", None)
    if not isinstance(user_id, str) or not user_id.strip():
        raise ToolException(
            "I cannot tell who the customer is in this conversation, so bookings cannot be "
            "looked up or changed."
        )
    return user_id


def client_of(runtime: ToolRuntime[Any, Any]) -> str | None:
    """Returns the client whose booking allowance the run spends; None when no limit applies."""
    client = getattr(runtime.context, "client", None)
    return client if isinstance(client, str) else None


def _dealership_name(dealership_id: str) -> str:
    dealership = DEALERSHIPS_BY_ID.get(dealership_id)
    return dealership.name if dealership else dealership_id


def _appointment_row(appointment: Appointment) -> dict[str, str]:
    return {
        "confirmation_id": appointment.confirmation_id,
        "dealership_id": appointment.dealership_id,
        "dealership_name": _dealership_name(appointment.dealership_id),
        "date": appointment.day.isoformat(),
        "time": appointment.time,
        "model": appointment.model,
        "status": appointment.status,
    }


def _times(times: list[str]) -> str:
    return ", ".join(times) if times else "none, please choose another day"


def _not_bookable(message: str) -> ToolException:
    return ToolException(f"{message} {NOTHING_BOOKED}")


def has_started(appointment: Appointment, now: datetime) -> bool:
    """Whether a booking's test drive has started (or taken place) by `now`."""
    dealership = DEALERSHIPS_BY_ID.get(appointment.dealership_id)
    if dealership is None:  # a dealership no longer listed: judged by its day alone
        return appointment.day < now.date()
    return slot_start(dealership, appointment.day, appointment.time) <= now


def booking_cap(services: ToolServices, now: datetime) -> BookingCap | None:
    """The cap on a customer's upcoming bookings at `now`, or None when there is none."""
    most = services.max_active_bookings
    if not most:
        return None
    # Every time zone's "today" is at most a day behind UTC's: earlier days are over everywhere.
    return BookingCap(
        most=most,
        from_day=now.date() - timedelta(days=1),
        upcoming=lambda appointment: not has_started(appointment, now),
    )


def cap_reached(error: BookingCapError) -> ToolException:
    """The refusal of a booking past the cap: what the customer reads, then a note for the model."""
    drives = "test drive" if error.held == 1 else "test drives"
    return ToolException(
        f"You already have {error.held} upcoming {drives} booked, {CAP_REACHED}; cancel one to "
        f"book another. {NOTHING_BOOKED}{FOR_THE_MODEL} to move one "
        "of them instead, call schedule_appointment again with replaces set to its confirmation "
        "id; list_my_appointments shows them."
    )


def _wait_words(wait_s: float) -> str:
    minutes = math.ceil(wait_s / 60)
    if minutes <= 1:
        return "in a minute"
    if minutes < 60:
        return f"in about {minutes} minutes"
    hours = round(minutes / 60)
    return "in about an hour" if hours == 1 else f"in about {hours} hours"


def too_many_from_client(dealership: Dealership, wait_s: float, keep: str) -> ToolException:
    """The refusal of a booking past the client's allowance: the customer's part, then the model's.

    Args:
        dealership: Where the booking was asked for; its phone books without the limit.
        wait_s: Seconds until the client may book again.
        keep: What happens to the booking a move would have replaced ("" for a new booking).
    """
    return ToolException(
        f"{TOO_MANY_FROM_CLIENT}, so this one cannot be booked online right now. "
        f"{NOTHING_BOOKED}{keep} Please try again {_wait_words(wait_s)}, or call "
        f"{dealership.name} at {dealership.phone} to book it.{FOR_THE_MODEL} this limit counts "
        "every booking made from the customer's network connection, whatever the slot; do not "
        "try another booking now, offer the phone number instead."
    )


@asynccontextmanager
async def booking_allowance(
    services: ToolServices, client: str | None, dealership: Dealership, keep: str
) -> AsyncIterator[None]:
    """Takes one of the client's bookings for the booking made inside; gives it back if that fails.

    A booking that raises (slot taken, cap reached, nothing to move) cost nothing. A cancelled
    one is not given back: it may have been confirmed.

    Raises:
        ToolException: The client has no booking left; nothing is booked.
    """
    quota = services.booking_quota
    if quota is None or client is None:
        yield
        return
    wait_s = await quota.take(client)
    if wait_s is not None:
        raise too_many_from_client(dealership, wait_s, keep)
    try:
        yield
    except Exception:
        await quota.give_back(client)
        raise


async def _replaced_booking(
    services: ToolServices, customer: str, replaces: str, now: datetime
) -> Appointment:
    """Checks that the booking a move replaces is the customer's and can still be moved.

    Raises:
        ToolException: Why it cannot be moved; nothing is booked.
    """
    canonical = normalize_confirmation_id(replaces)
    existing = await services.appointments.get(customer, canonical) if canonical else None
    if existing is None:
        raise _not_bookable(
            f"No booking with confirmation id '{replaces.strip()}' was found among the "
            "customer's test drives, so there is nothing to move."
        )
    when = f"{describe_day(existing.day)} at {existing.time}"
    if existing.status == CANCELLED:
        raise _not_bookable(
            f"Booking {existing.confirmation_id} ({when}) was already cancelled, so there is "
            "nothing to move."
        )
    if has_started(existing, now):
        raise _not_bookable(
            f"The test drive {existing.confirmation_id} on {when} has already started or taken "
            "place, so it can no longer be moved."
        )
    return existing


async def _free_times(
    services: ToolServices, dealership: Dealership, day: date, now: datetime
) -> list[str]:
    booked = await services.appointments.booked_times(dealership.id, day)
    return free_slots(dealership, day, now, booked)


async def _requested_slot(
    services: ToolServices,
    now: datetime,
    dealership_id: str,
    day_text: str,
    time_text: str,
    car_model: str,
) -> tuple[Dealership, date, str, str]:
    """Checks that a booking request names a slot a customer can book; returns it resolved.

    Raises:
        ToolException: Why nothing can be booked there, with the free times where it helps.
    """
    try:
        dealership = resolve_dealership(dealership_id)
        day = parse_day(day_text, dealership, now)
        start = parse_time(time_text)
        model = resolve_car_model(car_model, dealership)
    except ToolException as exc:
        raise _not_bookable(str(exc)) from None
    when = describe_day(day)
    hours = dealership.hours_on(day.weekday())
    if hours is None:
        raise _not_bookable(no_slots_reason(dealership, day, now, ()))
    if start not in day_slots(dealership, day):
        free = await _free_times(services, dealership, day, now)
        raise _not_bookable(
            f"{start} is not a test-drive start time at {dealership.name} on {when}: test "
            f"drives there take {dealership.slot_minutes} minutes, between "
            f"{hours.as_range().replace('-', ' and ')} that day. "
            f"Free times that day: {_times(free)}."
        )
    if slot_start(dealership, day, start) <= now:
        free = await _free_times(services, dealership, day, now)
        raise _not_bookable(
            f"{start} today has already passed at {dealership.name} (it is "
            f"{local_now(dealership, now):%H:%M} there). "
            f"Free times later today: {_times(free)}."
        )
    return dealership, day, start, model


def check_appointment_availability_tool(services: ToolServices) -> BaseTool:
    """Builds `check_appointment_availability` over the given services."""

    @tool(
        CHECK_APPOINTMENT_AVAILABILITY, response_format="content_and_artifact", parse_docstring=True
    )
    async def check_appointment_availability(
        dealership_id: DealershipIdArg, date: DateArg
    ) -> tuple[str, dict[str, Any]]:
        """Get the free test-drive start times at a dealership on one day.

        Use it before booking and whenever the customer asks when they can come in. Times are
        the dealership's local time. An empty list comes with a note saying why (closed that
        day, today's slots are over, or fully booked); then suggest another day.

        Args:
            dealership_id: Dealership id from the directory, e.g. "miami" or "new-york".
            date: The day as YYYY-MM-DD, from today up to 90 days ahead. Work out relative days
                such as "next Friday" from today's date given in the instructions.
        """
        dealership = resolve_dealership(dealership_id)
        now = services.now()
        day = parse_day(date, dealership, now)
        booked = await services.appointments.booked_times(dealership.id, day)
        available = free_slots(dealership, day, now, booked)
        content: dict[str, Any] = {
            "dealership_id": dealership.id,
            "date": day.isoformat(),
            "available_times": available,
        }
        if not available:
            content["note"] = no_slots_reason(dealership, day, now, booked)
        artifact = {
            "dealership_id": dealership.id,
            "date": day.isoformat(),
            "availableTimes": available,
        }
        return compact_json(content), artifact

    return check_appointment_availability


def schedule_appointment_tool(services: ToolServices) -> BaseTool:
    """Builds `schedule_appointment` over the given services."""

    @tool(SCHEDULE_APPOINTMENT, response_format="content_and_artifact", parse_docstring=True)
    async def schedule_appointment(
        dealership_id: DealershipIdArg,
        date: DateArg,
        time: TimeArg,
        car_model: CarModelArg,
        runtime: ToolRuntime[Any, Any],
        replaces: OptionalConfirmationIdArg = None,
    ) -> tuple[str, dict[str, Any]]:
        """Book a test drive for the customer, or move one of their bookings to a new slot.

        Call it only once the customer has chosen the dealership, day, start time and car
        model, and the time was offered by check_appointment_availability; call it once per
        booking the customer asked for, never for one they did not ask for. To move a booking,
        call it once with replaces: the old booking is cancelled in the same step, and kept if
        the new one fails. Tell the customer the confirmation id from the result; they need it
        to cancel.

        Args:
            runtime: Injected by the graph: who the customer is, and whose booking allowance
                the booking spends.
            dealership_id: Dealership id from the directory, e.g. "miami".
            date: The day as YYYY-MM-DD (dealership local calendar).
            time: Start time as HH:MM (24-hour, dealership local time), one of the free times.
            car_model: Model to test drive, exactly as in the lineup, e.g. "SuperCar GT"; it
                must be one the dealership offers.
            replaces: Only to move a booking: the confirmation id of the customer's booking
                this one replaces, e.g. "SC-7K3F9Q". Leave it out for a new booking.
        """
        customer = customer_of(runtime)
        now = services.now()
        moving = bool(replaces and replaces.strip())
        old = await _replaced_booking(services, customer, replaces or "", now) if moving else None
        dealership, day, start, model = await _requested_slot(
            services, now, dealership_id, date, time, car_model
        )
        when = describe_day(day)
        keep = f" Booking {old.confirmation_id} stays as it is." if old else ""
        try:
            async with booking_allowance(services, client_of(runtime), dealership, keep):
                appointment = await services.appointments.book(
                    user_id=customer,
                    dealership_id=dealership.id,
                    day=day,
                    time=start,
                    model=model,
                    replaces=old.confirmation_id if old else None,
                    cap=booking_cap(services, now),
                )
        except SlotTakenError:
            free = await _free_times(services, dealership, day, now)
            raise ToolException(
                f"That slot was just taken: {start} on {when} at {dealership.name} is already "
                f"booked. {NOTHING_BOOKED}{keep} Free times that day: {_times(free)}."
            ) from None
        except BookingCapError as error:
            raise cap_reached(error) from None
        except NotReplaceableError as error:
            raise _not_bookable(
                f"Booking {error.confirmation_id} was cancelled meanwhile, so there is nothing to "
                "move."
            ) from None
        message = f"Your {model} test drive at {dealership.name} is booked for {when} at {start}."
        payload = {
            "status": appointment.status,
            "confirmation_id": appointment.confirmation_id,
            "dealership_id": dealership.id,
            "dealership_name": dealership.name,
            "date": day.isoformat(),
            "time": start,
            "model": model,
            "message": message,
        }
        if old is not None:
            payload[REPLACED_CONFIRMATION_ID] = old.confirmation_id
            payload["message"] = (
                f"{message} It replaces {old.confirmation_id} ({describe_day(old.day)} at "
                f"{old.time}), now cancelled."
            )
        return compact_json(payload), payload

    return schedule_appointment


def list_my_appointments_tool(services: ToolServices) -> BaseTool:
    """Builds `list_my_appointments` over the given services."""

    @tool(LIST_MY_APPOINTMENTS, response_format="content_and_artifact", parse_docstring=True)
    async def list_my_appointments(
        runtime: ToolRuntime[Any, Any],
    ) -> tuple[str, dict[str, Any]]:
        """List the customer's test-drive bookings with confirmation ids and statuses.

        Use it when the customer asks what they have booked, or to find the confirmation id of
        a booking they want to cancel. Cancelled bookings are listed with status "cancelled".

        Args:
            runtime: Injected by the graph: who the customer is.
        """
        appointments = await services.appointments.list_for_user(customer_of(runtime))
        payload = {"appointments": [_appointment_row(a) for a in appointments]}
        return compact_json(payload), payload

    return list_my_appointments


def cancel_appointment_tool(services: ToolServices) -> BaseTool:
    """Builds `cancel_appointment` over the given services."""

    @tool(CANCEL_APPOINTMENT, response_format="content_and_artifact", parse_docstring=True)
    async def cancel_appointment(
        confirmation_id: str, runtime: ToolRuntime[Any, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Cancel one of the customer's test-drive bookings, freeing the slot.

        Use it only after the customer has confirmed which booking to cancel. If they do not
        know the confirmation id, call list_my_appointments first.

        Args:
            runtime: Injected by the graph: who the customer is.
            confirmation_id: Confirmation id of the booking, e.g. "SC-7K3F9Q".
        """
        customer = customer_of(runtime)
        canonical = normalize_confirmation_id(confirmation_id)
        not_found = ToolException(
            f"No booking with confirmation id '{confirmation_id.strip()}' was found among the "
            "customer's test drives. Check the id (it looks like SC-7K3F9Q); the customer's "
            "bookings can be listed to find it."
        )
        if canonical is None:
            raise not_found
        existing = await services.appointments.get(customer, canonical)
        if existing is None:
            raise not_found
        dealership_name = _dealership_name(existing.dealership_id)
        when = f"{describe_day(existing.day)} at {existing.time}"
        if existing.status == CANCELLED:
            raise ToolException(f"Booking {canonical} ({when}) was already cancelled.")
        dealership = DEALERSHIPS_BY_ID.get(existing.dealership_id)
        if dealership and slot_start(dealership, existing.day, existing.time) <= services.now():
            raise ToolException(
                f"The test drive {canonical} at {dealership_name} on {when} has already "
                "started or taken place, so it can no longer be cancelled."
            )
        cancelled = await services.appointments.cancel(customer, canonical)
        if cancelled is None:
            raise ToolException(f"Booking {canonical} ({when}) was already cancelled.")
        payload = {
            "status": CANCELLED,
            "confirmation_id": canonical,
            "message": (
                f"Your {cancelled.model} test drive at {dealership_name} on {when} is cancelled."
            ),
        }
        return compact_json(payload), payload

    return cancel_appointment


def build_appointment_tools(services: ToolServices) -> list[BaseTool]:
    """Build the booking tools over the given services.

    Args:
        services: The appointment book and clock the tools use.

    Returns:
        check_appointment_availability, schedule_appointment, list_my_appointments and
        cancel_appointment.
    """
    return [
        check_appointment_availability_tool(services),
        schedule_appointment_tool(services),
        list_my_appointments_tool(services),
        cancel_appointment_tool(services),
    ]
