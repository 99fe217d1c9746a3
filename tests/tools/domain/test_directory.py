"""The dealership directory: its data, the prompt lines, and how free text resolves to it."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from langchain_core.tools import ToolException

from tools.domain.directory import (
    CAR_MODELS,
    DEALERSHIPS,
    DEALERSHIPS_BY_ID,
    Dealership,
    directory_prompt_lines,
    match_dealerships,
    resolve_car_model,
    resolve_dealership,
)

REQUIRED_IDS = ["miami", "los-angeles", "new-york", "chicago", "dallas", "seattle"]


def test_the_required_dealerships_are_in_distinct_cities() -> None:
    assert set(REQUIRED_IDS) <= set(DEALERSHIPS_BY_ID)
    assert len({d.city for d in DEALERSHIPS}) == len(DEALERSHIPS)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", d.id) for d in DEALERSHIPS)


@pytest.mark.parametrize("dealership", DEALERSHIPS, ids=lambda d: d.id)
def test_each_dealership_is_complete_and_consistent(dealership: Dealership) -> None:
    assert dealership.name == f"SuperCar {dealership.city}"
    assert re.fullmatch(r"[\d +()-]+", dealership.phone)
    assert ZoneInfo(dealership.timezone).key.startswith("America/")
    assert dealership.slot_minutes in (30, 60)
    assert dealership.models and set(dealership.models) <= set(CAR_MODELS)
    assert any(hours is not None for hours in dealership.week_hours)
    assert "." not in dealership.hours_summary()


def test_some_dealerships_close_on_some_days_and_timezones_differ() -> None:
    assert any(None in d.week_hours for d in DEALERSHIPS)
    assert any(None not in d.week_hours for d in DEALERSHIPS)
    assert {d.timezone for d in DEALERSHIPS} >= {
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
    }


def test_prompt_lines_follow_the_shared_spec_exactly() -> None:
    lines = directory_prompt_lines()

    assert lines[0] == "Dealerships (id: name, city):"
    assert lines[1] == "- miami: SuperCar Miami, Miami"
    assert "- los-angeles: SuperCar Los Angeles, Los Angeles" in lines
    assert lines[-1] == (
        "Car models: SuperCar GT, SuperCar Roadster, SuperCar Volt, SuperCar Terra, SuperCar Apex"
    )
    assert len(lines) == len(DEALERSHIPS) + 2


@pytest.mark.parametrize(
    ("dealership_id", "summary"),
    [
        ("miami", "Mon-Sat 9:00-19:00, Sun closed"),
        ("seattle", "Mon closed, Tue-Sat 10:00-19:00, Sun 11:00-17:00"),
        ("new-york", "Mon-Fri 9:00-20:00, Sat 10:00-18:00, Sun closed"),
        ("san-francisco", "Mon-Sun 10:00-18:00"),
    ],
)
def test_hours_are_summarized_as_ranges_of_equal_days(dealership_id: str, summary: str) -> None:
    assert DEALERSHIPS_BY_ID[dealership_id].hours_summary() == summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("miami", "miami"),
        ("MIAMI", "miami"),
        ("Los Angeles", "los-angeles"),
        ("los angeles", "los-angeles"),
        ("SuperCar Dallas", "dallas"),
        ("supercar-new-york", "new-york"),
        ("NYC", "new-york"),
        ("Miami, FL", "miami"),
        ("Texas", "dallas"),
        ("the SuperCar Seattle dealership", "seattle"),
    ],
)
def test_ids_cities_and_names_resolve_case_insensitively(text: str, expected: str) -> None:
    assert resolve_dealership(text).id == expected


def test_an_unknown_dealership_lists_the_valid_choices() -> None:
    with pytest.raises(ToolException) as raised:
        resolve_dealership("Boston")

    message = str(raised.value)
    assert "Boston" in message
    assert all(dealership_id in message for dealership_id in REQUIRED_IDS)


def test_an_ambiguous_name_names_every_candidate() -> None:
    assert {d.id for d in match_dealerships("California")} == {"los-angeles", "san-francisco"}
    with pytest.raises(ToolException, match="several dealerships") as raised:
        resolve_dealership("California")
    assert "los-angeles" in str(raised.value)
    assert "san-francisco" in str(raised.value)


def test_an_empty_dealership_is_refused() -> None:
    with pytest.raises(ToolException, match="No dealership given"):
        resolve_dealership("  ")


@pytest.mark.parametrize(
    "text", ["SuperCar GT", "gt", "GT", "super car gt", "SUPERCAR-GT", " supercar  gt "]
)
def test_car_models_match_regardless_of_case_spacing_and_prefix(text: str) -> None:
    assert resolve_car_model(text, DEALERSHIPS_BY_ID["miami"]) == "SuperCar GT"


def test_an_unknown_model_lists_the_dealerships_lineup() -> None:
    with pytest.raises(ToolException, match="not a SuperCar model") as raised:
        resolve_car_model("Model S", DEALERSHIPS_BY_ID["miami"])
    assert "SuperCar GT, SuperCar Roadster, SuperCar Volt, SuperCar Terra" in str(raised.value)


def test_a_model_the_dealership_does_not_offer_is_refused_with_its_lineup() -> None:
    with pytest.raises(ToolException, match="SuperCar Apex is not available") as raised:
        resolve_car_model("apex", DEALERSHIPS_BY_ID["miami"])
    assert "SuperCar Volt" in str(raised.value)
