"""`lex eval` scores the offline model and, through the real ChatGroq client, the stand-in Groq.

The stand-in is scripted as two models: one that checks availability before booking and one that
books straight away and invents a confirmation id; the second must lose exactly those points.
Nothing here pins the offline model's score: only that it is played and scored sensibly.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from api.cli.main import main
from api.evaluation.checks import (
    AVAILABILITY_FIRST,
    NO_INVENTED_BOOKING,
    RIGHT_TOOL,
    PlayedTurn,
    detect_language,
    score,
)
from api.evaluation.runner import tool_schemas
from api.evaluation.scenarios import SCENARIOS_FILE, Scenario, load_scenarios, relative_dates
from api.stream.events import TextChunk, ToolOutput, ToolUse
from tests.support.groq_standin import GroqStandIn, Text, ToolCall, ToolCalls

TODAY = "2026-11-24"  # a Tuesday
TODAY_DATE = date.fromisoformat(TODAY)
OPEN_DAY = "2026-11-25"
CAREFUL = "llama-3.3-70b-versatile"
HASTY = "llama-3.1-8b-instant"
SLOT = {"dealership_id": "miami", "date": OPEN_DAY}
BOOKING = {**SLOT, "time": "10:00", "car_model": "SuperCar GT"}


def run_lex(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.split("\n\n")[0].splitlines()[2:]:
        if not line.startswith("-"):
            name, *cells = line.split("  ")
            rows[name.strip()] = [cell.strip() for cell in cells if cell.strip()]
    return rows


def scenario_named(name: str) -> Scenario:
    return next(s for s in load_scenarios(TODAY_DATE) if s.name == name)


@pytest.fixture(autouse=True)
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a developer's .env must not choose the model
    monkeypatch.delenv("GROQ_API_KEY", raising=False)


def test_relative_dates_skip_weekends_and_find_sunday() -> None:
    assert relative_dates(date(2026, 11, 27)) == {
        "open_day": "2026-11-30",  # Friday -> Monday
        "sunday": "2026-11-29",
    }
    raw = SCENARIOS_FILE.read_text()
    assert "2026" not in raw  # every date in the scripts is relative


def test_offline_model_is_played_and_scored(caplog: pytest.LogCaptureFixture) -> None:
    code, output = run_lex("eval", "--model", "offline", "--today", TODAY)
    assert code == 0
    assert "operator's token" not in caplog.text  # a scratch run makes and announces no secret
    rows = table_rows(output)
    names = [s.name for s in load_scenarios(TODAY_DATE)]
    assert list(rows) == [*names, "overall", "scenarios all passed"]
    for name in names:
        passed, total = map(int, rows[name][0].split("/"))
        assert 0 <= passed <= total and total >= 6
    overall, percent = rows["overall"][0].split()
    passed, total = map(int, overall.split("/"))
    assert total == sum(int(rows[n][0].split("/")[1]) for n in names)
    assert percent == f"{round(100 * passed / total)}%"
    clean, scenario_count = map(int, rows["scenarios all passed"][0].split("/"))
    assert scenario_count == len(names)
    assert clean == sum(rows[n][0].split("/")[0] == rows[n][0].split("/")[1] for n in names)


def test_min_score_fails_the_run_below_it() -> None:
    weather_only = ("--scenario", "weather", "--min-score", "101")
    code, output = run_lex("eval", "--model", "offline", "--today", TODAY, *weather_only)
    assert code == 1 and "below --min-score 101%" in output


def test_the_stand_in_booking_without_checking_loses_those_points(
    groq_env: GroqStandIn,
) -> None:
    groq_env.script(
        # The careful model: availability first, then the booking the customer chose.
        ToolCalls([ToolCall("check_appointment_availability", SLOT)]),
        Text("On that day we have 09:00, 10:00 and 11:00 free. Which time suits you?"),
        ToolCalls([ToolCall("schedule_appointment", BOOKING)]),
        Text("Your test drive is booked for 10:00. See you at SuperCar Miami!"),
        # The hasty model: no availability check, and a confirmation id of its own.
        Text("Sure, we have plenty of times that day. Which one would you like?"),
        ToolCalls([ToolCall("schedule_appointment", BOOKING)]),
        Text("Your test drive is booked, confirmation SC-FAKE12."),
    )
    code, output = run_lex(
        "eval", "--model", CAREFUL, "--model", HASTY, "--today", TODAY,
        "--scenario", "booking_in_two_steps",
    )  # fmt: skip
    assert code == 0, output
    assert groq_env.pending == 0
    assert [r.model for r in groq_env.chat_requests] == [CAREFUL] * 4 + [HASTY] * 3
    careful, hasty = table_rows(output)["booking_in_two_steps"]
    careful_passed, total = map(int, careful.split("/"))
    hasty_passed, hasty_total = map(int, hasty.split("/"))
    assert careful_passed == total == hasty_total
    assert hasty_passed <= total - 3
    failures = output.split(f"failed checks, {HASTY}:")[1]
    for check in (RIGHT_TOOL, AVAILABILITY_FIRST, NO_INVENTED_BOOKING):
        assert f": {check}:" in failures
    assert f"failed checks, {CAREFUL}" not in output


def test_reasoning_prices_and_wrong_language_are_caught() -> None:
    scenario = scenario_named("spanish_weather")
    turn = PlayedTurn(scenario.turns[0])
    turn.events = [
        ToolUse("c1", "get_weather", {"city": "Miami"}),
        ToolOutput("c1", "get_weather", "The weather in Miami is sunny.", "success"),
        TextChunk("<think>the user wants weather</think> It is sunny and the GT is $95,000.", "m1"),
    ]
    failed = {c.name for c in score(scenario, [turn], tool_schemas()) if not c.passed}
    assert failed == {"no_reasoning", "no_prices", "language"}
    assert detect_language("Hoy hace sol en Miami, ¿quiere reservar una prueba?") == "es"
    assert detect_language("It is sunny in Miami today, would you like a test drive?") == "en"


def test_invalid_arguments_fail_valid_args() -> None:
    scenario = scenario_named("free_slots")
    turn = PlayedTurn(scenario.turns[0])
    turn.events = [
        ToolUse("c1", "check_appointment_availability", {"dealership_id": "chicago"}),
        TextChunk("Let me look.", "m1"),
    ]
    checks = {c.name: c for c in score(scenario, [turn], tool_schemas())}
    assert not checks["valid_args"].passed and checks["right_tool"].passed
    assert "check_appointment_availability" in checks["valid_args"].detail
