"""The tools Lex can call: dealership directory, weather and test-drive bookings.

`build_tools(ToolServices(...))` is the entry point; everything else here is what callers need to
build the services (providers, the appointment book and booking quota protocols) or to describe
the directory.
"""

from tools.domain.appointment_book import (
    Appointment,
    AppointmentBook,
    InMemoryAppointmentBook,
    SlotTakenError,
    new_confirmation_id,
    normalize_confirmation_id,
)
from tools.domain.clock import Clock, utc_now
from tools.domain.directory import (
    CAR_MODELS,
    DEALERSHIPS,
    DEALERSHIPS_BY_ID,
    Dealership,
    directory_prompt_lines,
    resolve_car_model,
    resolve_dealership,
)
from tools.domain.weather import (
    OpenMeteoWeather,
    SimulatedWeather,
    WeatherProvider,
    WeatherReport,
)
from tools.factory import build_tools
from tools.names import (
    CANCEL_APPOINTMENT,
    CHECK_APPOINTMENT_AVAILABILITY,
    GET_DEALERSHIP_ADDRESS,
    GET_WEATHER,
    LIST_DEALERSHIPS,
    LIST_MY_APPOINTMENTS,
    SCHEDULE_APPOINTMENT,
    TOOL_NAMES,
    USER_SCOPED_TOOL_NAMES,
)
from tools.services import BookingQuota, ToolServices

__all__ = [
    "CANCEL_APPOINTMENT",
    "CAR_MODELS",
    "CHECK_APPOINTMENT_AVAILABILITY",
    "DEALERSHIPS",
    "DEALERSHIPS_BY_ID",
    "GET_DEALERSHIP_ADDRESS",
    "GET_WEATHER",
    "LIST_DEALERSHIPS",
    "LIST_MY_APPOINTMENTS",
    "SCHEDULE_APPOINTMENT",
    "TOOL_NAMES",
    "USER_SCOPED_TOOL_NAMES",
    "Appointment",
    "AppointmentBook",
    "BookingQuota",
    "Clock",
    "Dealership",
    "InMemoryAppointmentBook",
    "OpenMeteoWeather",
    "SimulatedWeather",
    "SlotTakenError",
    "ToolServices",
    "WeatherProvider",
    "WeatherReport",
    "build_tools",
    "directory_prompt_lines",
    "new_confirmation_id",
    "normalize_confirmation_id",
    "resolve_car_model",
    "resolve_dealership",
    "utc_now",
]
