"""Booking tools: availability, scheduling, listing and cancelling test drives.

The customer's `user_id` is an injected argument (`InjectedState("user_id")`, a kind of
`InjectedToolArg`): hidden from the model's tool schema and filled by the graph's ToolNode from the
state field the agent sets from the run context, so a customer only sees and changes their own
bookings, whatever the model writes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import InjectedState

from tools.content import compact_json
from tools.domain.appointment_book import (
    CANCELLED,
    Appointment,
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
    USER_ID_ARG,
)
from tools.services import ToolServices

NOTHING_BOOKED = "Nothing was booked."

UserId = Annotated[str, InjectedState(USER_ID_ARG)]
"""The customer a booking tool acts for: never in the model's schema, always set by the graph."""


def _require_user(user_id: str) -> str:
    if not user_id or not user_id.strip():
        raise ToolException(
            "I cannot tell who the customer is in this conversation, so bookings cannot be "
            "looked up or changed."
        )
    return user_id


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


async def _free_times(
    services: ToolServices, dealership: Dealership, day: date, now: datetime
) -> list[str]:
    booked = await services.appointments.booked_times(dealership.id, day)
    return free_slots(dealership, day, now, booked)


def build_appointment_tools(services: ToolServices) -> list[BaseTool]:
    """Build the booking tools over the given services.

    Args:
        services: The appointment book and clock the tools use.

    Returns:
        check_appointment_availability, schedule_appointment, list_my_appointments and
        cancel_appointment.
    """

    @tool(
        CHECK_APPOINTMENT_AVAILABILITY, response_format="content_and_artifact", parse_docstring=True
    )
    async def check_appointment_availability(
        dealership_id: str, date: str
    ) -> tuple[str, dict[str, Any]]:
        """Get the free test-drive start times at a dealership on one day.

        Use it before booking and whenever the customer asks when they can come in. Times are
        the dealership's local time. An empty list comes with a note saying why (closed that
        day, today's slots are over, or fully booked); then suggest another day.

        Args:
            dealership_id: Dealership id, e.g. "miami" or "new-york".
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

    @tool(SCHEDULE_APPOINTMENT, response_format="content_and_artifact", parse_docstring=True)
    async def schedule_appointment(
        user_id: UserId,
        dealership_id: str,
        date: str,
        time: str,
        car_model: str,
    ) -> tuple[str, dict[str, Any]]:
        """Book a test drive for the customer.

        Call it only once the customer has chosen the dealership, day, start time and car
        model, and the time was offered by check_appointment_availability. Tell the customer
        the confirmation id from the result; they need it to cancel.

        Args:
            user_id: The customer, filled in by the system.
            dealership_id: Dealership id, e.g. "miami".
            date: The day as YYYY-MM-DD.
            time: Start time as HH:MM (24-hour, dealership local time), one of the free times.
            car_model: Model to test drive, e.g. "SuperCar GT"; it must be offered at that
                dealership.
        """
        customer = _require_user(user_id)
        now = services.now()
        try:
            dealership = resolve_dealership(dealership_id)
            day = parse_day(date, dealership, now)
            start = parse_time(time)
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
        try:
            appointment = await services.appointments.book(
                user_id=customer, dealership_id=dealership.id, day=day, time=start, model=model
            )
        except SlotTakenError:
            free = await _free_times(services, dealership, day, now)
            raise ToolException(
                f"That slot was just taken: {start} on {when} at {dealership.name} is already "
                f"booked. {NOTHING_BOOKED} Free times that day: {_times(free)}."
            ) from None
        payload = {
            "status": appointment.status,
            "confirmation_id": appointment.confirmation_id,
            "dealership_id": dealership.id,
            "dealership_name": dealership.name,
            "date": day.isoformat(),
            "time": start,
            "model": model,
            "message": (
                f"Your {model} test drive at {dealership.name} is booked for {when} at {start}."
            ),
        }
        return compact_json(payload), payload

    @tool(LIST_MY_APPOINTMENTS, response_format="content_and_artifact", parse_docstring=True)
    async def list_my_appointments(
        user_id: UserId,
    ) -> tuple[str, dict[str, Any]]:
        """List the customer's test-drive bookings with confirmation ids and statuses.

        Use it when the customer asks what they have booked, or to find the confirmation id of
        a booking they want to cancel. Cancelled bookings are listed with status "cancelled".

        Args:
            user_id: The customer, filled in by the system.
        """
        appointments = await services.appointments.list_for_user(_require_user(user_id))
        payload = {"appointments": [_appointment_row(a) for a in appointments]}
        return compact_json(payload), payload

    @tool(CANCEL_APPOINTMENT, response_format="content_and_artifact", parse_docstring=True)
    async def cancel_appointment(
        user_id: UserId, confirmation_id: str
    ) -> tuple[str, dict[str, Any]]:
        """Cancel one of the customer's test-drive bookings, freeing the slot.

        Use it only after the customer has confirmed which booking to cancel. If they do not
        know the confirmation id, call list_my_appointments first.

        Args:
            user_id: The customer, filled in by the system.
            confirmation_id: Confirmation id of the booking, e.g. "SC-7K3F9Q".
        """
        customer = _require_user(user_id)
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

    return [
        check_appointment_availability,
        schedule_appointment,
        list_my_appointments,
        cancel_appointment,
    ]
