"""Tool names, one constant each, so the agent, the API and the tests agree on the spelling.

The names are part of the wire contract: the chat frontend picks its cards by them.
"""

from typing import Final

GET_WEATHER: Final = "get_weather"
GET_DEALERSHIP_ADDRESS: Final = "get_dealership_address"
LIST_DEALERSHIPS: Final = "list_dealerships"
CHECK_APPOINTMENT_AVAILABILITY: Final = "check_appointment_availability"
SCHEDULE_APPOINTMENT: Final = "schedule_appointment"
LIST_MY_APPOINTMENTS: Final = "list_my_appointments"
CANCEL_APPOINTMENT: Final = "cancel_appointment"

TOOL_NAMES: Final[tuple[str, ...]] = (
    GET_WEATHER,
    GET_DEALERSHIP_ADDRESS,
    LIST_DEALERSHIPS,
    CHECK_APPOINTMENT_AVAILABILITY,
    SCHEDULE_APPOINTMENT,
    LIST_MY_APPOINTMENTS,
    CANCEL_APPOINTMENT,
)
"""Every tool name in the order `build_tools` returns them."""

USER_SCOPED_TOOL_NAMES: Final[frozenset[str]] = frozenset(
    {SCHEDULE_APPOINTMENT, LIST_MY_APPOINTMENTS, CANCEL_APPOINTMENT}
)
"""Tools that act for the run's customer, read from the run context (never from the model)."""
