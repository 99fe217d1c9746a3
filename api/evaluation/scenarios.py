"""The scripted customer conversations `lex eval` plays, read from `scenarios.json` beside it.

Dates in the scripts are relative (`{open_day}`, `{sunday}`) and resolved against the evaluation's
"today", so the scenarios never go stale and a test can pin the day.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SCENARIOS_FILE = Path(__file__).with_name("scenarios.json")
SATURDAY = 5
SUNDAY = 6


@dataclass(frozen=True)
class ExpectedCall:
    """A tool call a turn must make: its name and at least these argument values."""

    name: str
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptedTurn:
    """What the customer says, and what must (and must not) happen in reply.

    Attributes:
        say: The customer's message.
        tools: Calls the turn must make.
        forbid: Tool names the turn must not call.
    """

    say: str
    tools: tuple[ExpectedCall, ...] = ()
    forbid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One conversation.

    Attributes:
        name: Short id shown in the table.
        language: ISO code of the language every reply must be in.
        turns: The customer's turns, in order.
        booked: True: a booking must be made; False: none may be; None: not checked.
    """

    name: str
    language: str
    turns: tuple[ScriptedTurn, ...]
    booked: bool | None = None


def relative_dates(today: date) -> dict[str, str]:
    """Returns the date placeholders for `today`, as YYYY-MM-DD.

    `open_day`: the first day after today from Monday to Friday (every dealership is open);
    `sunday`: the next Sunday after today.
    """
    open_day = today + timedelta(days=1)
    while open_day.weekday() >= SATURDAY:
        open_day += timedelta(days=1)
    sunday = today + timedelta(days=(SUNDAY - today.weekday()) % 7 or 7)
    return {"open_day": open_day.isoformat(), "sunday": sunday.isoformat()}


def load_scenarios(today: date, path: Path = SCENARIOS_FILE) -> list[Scenario]:
    """Reads the scenarios with their dates resolved for `today`."""
    dates = relative_dates(today)
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return [_scenario(item, dates) for item in raw["scenarios"]]


def _fill(text: str, dates: Mapping[str, str]) -> str:
    return text.format_map(dates)


def _scenario(item: Mapping[str, Any], dates: Mapping[str, str]) -> Scenario:
    turns = []
    for turn in item["turns"]:
        expect = turn.get("expect", {})
        calls = tuple(
            ExpectedCall(
                call["name"],
                {key: _fill(str(value), dates) for key, value in call.get("args", {}).items()},
            )
            for call in expect.get("tools", [])
        )
        forbid = tuple(expect.get("forbid", []))
        turns.append(ScriptedTurn(_fill(turn["say"], dates), calls, forbid))
    return Scenario(item["name"], item.get("language", "en"), tuple(turns), item.get("booked"))
