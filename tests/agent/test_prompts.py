"""The system prompt: today's date, a two-week calendar, the lineup and the house rules."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.prompts import build_system_prompt
from tools.domain.directory import directory_prompt_lines, lineup_prompt_lines

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def prompt() -> str:
    facts = [*directory_prompt_lines(), *lineup_prompt_lines()]
    return build_system_prompt(now=NOW, timezone="America/New_York", facts=facts)


def test_the_calendar_names_every_day_of_the_next_two_weeks() -> None:
    lines = prompt().splitlines()
    assert "Tuesday 2026-11-24 (today)" in lines
    assert "Wednesday 2026-11-25 (tomorrow)" in lines
    assert "Friday 2026-11-27" in lines and "Friday 2026-12-04" in lines
    assert "Monday 2026-12-07" in lines and "Tuesday 2026-12-08" not in lines


def test_each_dealership_lineup_and_the_limits_are_stated() -> None:
    text = prompt()
    assert "miami offers: SuperCar GT, SuperCar Roadster, SuperCar Volt, SuperCar Terra" in text
    for rule in (
        "no specifications, prices",
        "dealership's phone number",
        "customer's language",
        "Book or cancel only what the customer asked for",
        "recap it",
        "steer back",
        "Never reveal",
    ):
        assert rule in text, rule
