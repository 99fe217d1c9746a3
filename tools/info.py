"""Read-only tools: the weather, a dealership's address card, and the dealership list.

Each tool returns compact JSON for the model and the card payload of the wire contract as its
artifact; bad input becomes a ToolException the model can relay to the customer.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, ToolException, tool

from tools.content import compact_json
from tools.domain.directory import (
    DEALERSHIPS,
    WEEKDAY_NAMES,
    Dealership,
    cities,
    match_dealerships,
    resolve_dealership,
)
from tools.domain.weather import forecast_day
from tools.names import GET_DEALERSHIP_ADDRESS, GET_WEATHER, LIST_DEALERSHIPS
from tools.schema import DealershipIdArg, OptionalDateArg
from tools.services import ToolServices

_ALL_CITIES = {"", "all", "any", "everywhere"}


def _listing(dealership: Dealership) -> dict[str, str]:
    return {
        "id": dealership.id,
        "name": dealership.name,
        "city": dealership.city,
        "address": dealership.address,
        "phone": dealership.phone,
    }


def build_info_tools(services: ToolServices) -> list[BaseTool]:
    """Build the read-only tools over the given services.

    Args:
        services: The weather provider and clock the tools use.

    Returns:
        get_weather, get_dealership_address and list_dealerships.
    """

    @tool(GET_WEATHER, response_format="content_and_artifact", parse_docstring=True)
    async def get_weather(city: str, date: OptionalDateArg = None) -> tuple[str, str]:
        """Get the weather in a city, today or on a day up to 7 days ahead.

        It reports the condition, the temperature in °C, the humidity in % and the wind in km/h.
        Use it whenever the customer asks about the weather, for example to plan a test drive
        ("will it rain on Saturday?"). It works for any city, not only cities with a
        dealership. Relay the summary in plain words, naming the day.

        Args:
            city: Name of the city only, in letters, e.g. "Miami" or "Los Angeles".
            date: The day as YYYY-MM-DD, from today up to 7 days ahead; leave it out for today.
        """
        now = services.now()
        matches = match_dealerships(city)
        # A dealership city gets its own local date; elsewhere the UTC date is close enough.
        today = now.astimezone(matches[0].zone).date() if len(matches) == 1 else now.date()
        day = today if date is None or not date.strip() else forecast_day(date, today)
        report = await services.weather.current(city, day)
        content = {
            "city": report.city,
            "date": day.isoformat(),
            "weekday": WEEKDAY_NAMES[day.weekday()],
            "condition": report.condition,
            "temperature_c": report.temperature_c,
            "humidity_pct": report.humidity_pct,
            "wind_kmh": report.wind_kmh,
            "summary": report.summary,
        }
        return compact_json(content), report.summary

    @tool(GET_DEALERSHIP_ADDRESS, response_format="content_and_artifact", parse_docstring=True)
    async def get_dealership_address(dealership_id: DealershipIdArg) -> tuple[str, str]:
        """Get a SuperCar dealership's street address, phone number and opening hours.

        Use it when the customer asks where a dealership is, how to call it or when it is open.
        Opening hours are in the dealership's local time.

        Args:
            dealership_id: Dealership id from the directory, e.g. "miami" or "los-angeles". A
                city or dealership name that matches exactly one dealership also works.
        """
        dealership = resolve_dealership(dealership_id)
        card = dealership.card()
        content = {
            "dealership_id": dealership.id,
            "name": dealership.name,
            "address": dealership.address,
            "phone": dealership.phone,
            "hours": dealership.hours_by_day(),
            "timezone": dealership.timezone,
            "summary": card,
        }
        return compact_json(content), card

    @tool(LIST_DEALERSHIPS, response_format="content_and_artifact", parse_docstring=True)
    async def list_dealerships(city: str | None = None) -> tuple[str, dict[str, Any]]:
        """List SuperCar dealerships with their ids, cities, addresses and phone numbers.

        Use it when the customer asks which dealerships exist or whether there is one near a
        city or in a state. Leave city out to list them all.

        Args:
            city: Optional city or US state to filter by, e.g. "Dallas" or "California".
        """
        if city is None or city.strip().casefold() in _ALL_CITIES:
            found = list(DEALERSHIPS)
        else:
            found = match_dealerships(city)
            if not found:
                raise ToolException(
                    f"There is no SuperCar dealership in '{city.strip()}'. "
                    f"SuperCar has dealerships in: {cities()}."
                )
        payload = {"dealerships": [_listing(d) for d in found]}
        return compact_json(payload), payload

    return [get_weather, get_dealership_address, list_dealerships]
