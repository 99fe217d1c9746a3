"""The read-only tools as the graph calls them: weather, address card and dealership list."""

from __future__ import annotations

import re
from datetime import date

import pytest
from langchain_core.tools import BaseTool, ToolException

from tests.tools.support import FakeClock, call, content
from tools.domain.directory import DEALERSHIPS, Dealership
from tools.domain.weather import SimulatedWeather
from tools.names import GET_DEALERSHIP_ADDRESS, GET_WEATHER, LIST_DEALERSHIPS

# What the chat page reads from the cards (docs/wire-contract.md).
CARD_TEMPERATURE = re.compile(r"(\d+)°C")
CARD_CITY = re.compile(r"in ([A-Za-z ]+) is")
CARD_PHONE = re.compile(r"Phone: ([\d\s+()\-]+)")
CARD_HOURS = re.compile(r"Hours: ([^.]*)")


async def test_weather_card_is_the_summary_sentence_and_content_has_the_numbers(
    info_tools: dict[str, BaseTool],
) -> None:
    message = await call(info_tools[GET_WEATHER], city="Miami")

    data = content(message)
    assert set(data) == {
        "city",
        "date",
        "weekday",
        "condition",
        "temperature_c",
        "humidity_pct",
        "wind_kmh",
        "summary",
    }
    assert message.artifact == data["summary"]
    assert message.artifact == (
        f"The weather in Miami is {data['condition']}, {data['temperature_c']}°C, "
        f"humidity {data['humidity_pct']}%, wind {data['wind_kmh']} km/h."
    )
    temperature = CARD_TEMPERATURE.search(message.artifact)
    assert temperature and int(temperature.group(1)) == abs(data["temperature_c"])
    city = CARD_CITY.search(message.artifact)
    assert city and city.group(1) == "Miami"


async def test_weather_is_the_same_for_the_same_city_and_day(
    info_tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    first = await call(info_tools[GET_WEATHER], city="Chicago")
    again = await call(info_tools[GET_WEATHER], city="  chicago ")
    clock.set("2027-01-15T18:00:00+00:00")
    winter = await call(info_tools[GET_WEATHER], city="Chicago")

    assert first.artifact == again.artifact
    assert winter.artifact != first.artifact


@pytest.mark.parametrize("city", ["", "12345", "!!!", "Miami 33132", "x" * 61, "<script>"])
async def test_weather_for_nonsense_is_a_clear_error(
    info_tools: dict[str, BaseTool], city: str
) -> None:
    with pytest.raises(ToolException, match="city"):
        await call(info_tools[GET_WEATHER], city=city)


async def test_address_card_matches_the_wire_contract_example(
    info_tools: dict[str, BaseTool],
) -> None:
    message = await call(info_tools[GET_DEALERSHIP_ADDRESS], dealership_id="miami")

    assert message.artifact == (
        "SuperCar Miami, 1200 Biscayne Blvd, Miami, FL 33132. Phone: +1 (305) 555-0142. "
        "Hours: Mon-Sat 9:00-19:00, Sun closed"
    )
    data = content(message)
    assert data == {
        "dealership_id": "miami",
        "name": "SuperCar Miami",
        "address": "1200 Biscayne Blvd, Miami, FL 33132",
        "phone": "+1 (305) 555-0142",
        "hours": {
            "Monday": "09:00-19:00",
            "Tuesday": "09:00-19:00",
            "Wednesday": "09:00-19:00",
            "Thursday": "09:00-19:00",
            "Friday": "09:00-19:00",
            "Saturday": "09:00-19:00",
            "Sunday": "closed",
        },
        "timezone": "America/New_York",
        "summary": message.artifact,
    }


@pytest.mark.parametrize("dealership", DEALERSHIPS, ids=lambda d: d.id)
async def test_every_address_card_shows_phone_and_hours_to_the_page(
    info_tools: dict[str, BaseTool], dealership: Dealership
) -> None:
    message = await call(info_tools[GET_DEALERSHIP_ADDRESS], dealership_id=dealership.id.upper())

    assert isinstance(message.artifact, str)
    phone = CARD_PHONE.search(message.artifact)
    hours = CARD_HOURS.search(message.artifact)
    assert phone and phone.group(1).strip() == dealership.phone
    assert hours and hours.group(1) == dealership.hours_summary()
    assert message.artifact.startswith(f"{dealership.name}, {dealership.address}.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Los Angeles", "los-angeles"), ("SuperCar Dallas", "dallas"), ("NEW-YORK", "new-york")],
)
async def test_address_accepts_a_city_or_name_that_means_one_dealership(
    info_tools: dict[str, BaseTool], text: str, expected: str
) -> None:
    message = await call(info_tools[GET_DEALERSHIP_ADDRESS], dealership_id=text)

    assert content(message)["dealership_id"] == expected


async def test_address_of_an_unknown_dealership_lists_the_valid_ids(
    info_tools: dict[str, BaseTool],
) -> None:
    with pytest.raises(ToolException, match="no SuperCar dealership called 'Atlantis'") as raised:
        await call(info_tools[GET_DEALERSHIP_ADDRESS], dealership_id="Atlantis")
    assert "miami (Miami)" in str(raised.value)


async def test_address_of_an_ambiguous_state_asks_to_choose(
    info_tools: dict[str, BaseTool],
) -> None:
    with pytest.raises(ToolException, match="several dealerships"):
        await call(info_tools[GET_DEALERSHIP_ADDRESS], dealership_id="California")


async def test_list_dealerships_without_a_city_lists_them_all(
    info_tools: dict[str, BaseTool],
) -> None:
    message = await call(info_tools[LIST_DEALERSHIPS])

    data = content(message)
    assert message.artifact == data
    assert [d["id"] for d in data["dealerships"]] == [d.id for d in DEALERSHIPS]
    assert data["dealerships"][0] == {
        "id": "miami",
        "name": "SuperCar Miami",
        "city": "Miami",
        "address": "1200 Biscayne Blvd, Miami, FL 33132",
        "phone": "+1 (305) 555-0142",
    }


@pytest.mark.parametrize(
    ("city", "expected"),
    [("dallas", ["dallas"]), ("California", ["los-angeles", "san-francisco"]), ("all", None)],
)
async def test_list_dealerships_filters_by_city_or_state(
    info_tools: dict[str, BaseTool], city: str, expected: list[str] | None
) -> None:
    message = await call(info_tools[LIST_DEALERSHIPS], city=city)

    ids = [d["id"] for d in content(message)["dealerships"]]
    assert ids == (expected if expected is not None else [d.id for d in DEALERSHIPS])


async def test_list_dealerships_in_a_city_without_one_names_the_cities_we_have(
    info_tools: dict[str, BaseTool],
) -> None:
    with pytest.raises(ToolException, match="no SuperCar dealership in 'Boston'") as raised:
        await call(info_tools[LIST_DEALERSHIPS], city="Boston")
    assert "Miami, Los Angeles, New York" in str(raised.value)


async def test_weather_uses_the_local_day_of_a_dealership_city(
    info_tools: dict[str, BaseTool], clock: FakeClock
) -> None:
    clock.set("2026-11-25T03:00:00+00:00")  # still Tuesday the 24th in Los Angeles

    los_angeles = await call(info_tools[GET_WEATHER], city="Los Angeles")
    paris = await call(info_tools[GET_WEATHER], city="Paris")

    simulated = SimulatedWeather()
    assert los_angeles.artifact == simulated.report("Los Angeles", date(2026, 11, 24)).summary
    assert paris.artifact == simulated.report("Paris", date(2026, 11, 25)).summary


async def test_weather_can_be_asked_for_a_day_up_to_a_week_ahead(
    info_tools: dict[str, BaseTool],
) -> None:
    saturday = await call(info_tools[GET_WEATHER], city="Miami", date="2026-11-28")
    again = await call(info_tools[GET_WEATHER], city="Miami", date=" 2026-11-28 ")
    today = await call(info_tools[GET_WEATHER], city="Miami")

    assert content(saturday)["date"] == "2026-11-28"
    assert content(saturday)["weekday"] == "Saturday"
    assert saturday.artifact == again.artifact  # deterministic offline forecast
    assert content(today)["date"] == "2026-11-24"
    assert saturday.artifact == SimulatedWeather().report("Miami", date(2026, 11, 28)).summary


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        ("2026-12-02", "too far ahead: the forecast reaches 7 days, up to 2026-12-01"),
        ("2026-11-23", "in the past"),
        ("Saturday", "not a valid date"),
    ],
)
async def test_weather_outside_the_forecast_range_is_a_clear_error(
    info_tools: dict[str, BaseTool], day: str, reason: str
) -> None:
    with pytest.raises(ToolException, match=reason):
        await info_tools[GET_WEATHER].ainvoke({"city": "Miami", "date": day})
