"""Plays the scenarios against one model through the service's own turn path, and scores them.

Each model gets a fresh service on a scratch SQLite file (`open_services`, as the app builds it:
the same graph, tools, prompt, fallbacks and turn executor) and each scenario a fresh session, so
what is scored is what a customer of that configuration would get.
"""

from __future__ import annotations

import secrets
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, SecretStr

from api.app import open_services
from api.chat_models import choose_chat_model
from api.evaluation.checks import Check, PlayedTurn, score
from api.evaluation.scenarios import Scenario
from api.services import LexServices
from api.settings import Settings
from api.stream.events import TurnEvent
from api.turns.executor import TurnRequest, user_id_for
from tools import InMemoryAppointmentBook, ToolServices, build_tools
from tools.domain.clock import Clock, utc_now
from tools.domain.weather import SimulatedWeather

OFFLINE = "offline"
EVAL_HOUR = day_time(10, 0)
"""With a pinned day, the evaluation starts at 10:00 local time: the day's slots are ahead."""


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario played and scored.

    Attributes:
        scenario: What was played.
        played: The turns as they happened.
        checks: Every scored point.
    """

    scenario: Scenario
    played: list[PlayedTurn]
    checks: list[Check]

    @property
    def passed(self) -> int:
        """Checks passed."""
        return sum(check.passed for check in self.checks)


@dataclass(frozen=True)
class ModelResult:
    """Every scenario played against one model.

    Attributes:
        label: The model as asked for (`offline`, a Groq model id, or the configured one).
        model_name: The model the service actually used.
        scenarios: The results, in scenario order.
    """

    label: str
    model_name: str
    scenarios: list[ScenarioResult]

    @property
    def passed(self) -> int:
        """Checks passed over all scenarios."""
        return sum(result.passed for result in self.scenarios)

    @property
    def total(self) -> int:
        """Checks made over all scenarios."""
        return sum(len(result.checks) for result in self.scenarios)

    @property
    def scenarios_passed(self) -> int:
        """Scenarios whose every check passed."""
        return sum(result.passed == len(result.checks) for result in self.scenarios)


def settings_for(base: Settings, model: str | None, database: Path) -> Settings:
    """Returns the settings of an evaluation run: the configured ones, `model` chosen, scratch DB.

    Args:
        base: The configured settings.
        model: `offline`, a Groq model id, or None for the configured model.
        database: The scratch SQLite file.
    """
    # A scratch run serves no one: throwaway secrets, so none is made and announced in DATA_DIR.
    update: dict[str, object] = {
        "database_url": f"sqlite:///{database}",
        "admin_token": SecretStr(secrets.token_urlsafe(32)),
        "session_binding_key": SecretStr(secrets.token_urlsafe(32)),
    }
    if model == OFFLINE:
        update["model_provider"] = OFFLINE
    elif model is not None:
        update.update(model_provider="groq", model_name=model, model_fallbacks="")
    return base.model_copy(update=update)


def pinned_clock(today: date, timezone: str) -> Clock:
    """Returns a clock that starts at 10:00 on `today` (local) and runs at real speed."""
    start = datetime.combine(today, EVAL_HOUR, tzinfo=ZoneInfo(timezone))
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return now


def tool_schemas() -> dict[str, type[BaseModel]]:
    """The argument schema the model sees for each tool (runtime parameters left out)."""
    services = ToolServices(appointments=InMemoryAppointmentBook(), weather=SimulatedWeather())
    schemas: dict[str, type[BaseModel]] = {}
    for tool in build_tools(services):
        schema = tool.tool_call_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            schemas[tool.name] = schema
    return schemas


class PlayedTurnSink:
    """Where the executor publishes a played turn's events (a `TurnSink`).

    Args:
        turn: The turn whose events are collected.
    """

    def __init__(self, turn: PlayedTurn) -> None:
        self.run_id = str(uuid.uuid4())
        self.after_lost_turn = False
        self._turn = turn

    def publish(self, event: TurnEvent) -> None:
        """Keeps the event."""
        self._turn.events.append(event)


async def play(services: LexServices, scenario: Scenario) -> list[PlayedTurn]:
    """Plays one scenario on a fresh session; returns its turns."""
    session_id = f"eval-{scenario.name}-{uuid.uuid4().hex[:8]}"
    played = []
    for script in scenario.turns:
        turn = PlayedTurn(script)
        request = TurnRequest(
            session_id=session_id,
            query=script.say,
            user_id=user_id_for(session_id, None),
            timezone=services.settings.timezone,
        )
        await services.executor.run(PlayedTurnSink(turn), request)
        played.append(turn)
    return played


async def evaluate_model(
    base: Settings, model: str | None, scenarios: Sequence[Scenario], clock: Clock = utc_now
) -> ModelResult:
    """Plays every scenario against one model and scores it."""
    schemas = tool_schemas()
    with tempfile.TemporaryDirectory(prefix="lex-eval-") as scratch:
        settings = settings_for(base, model, Path(scratch) / "eval.sqlite")
        choice = choose_chat_model(settings)
        async with AsyncExitStack() as stack:
            services = await open_services(stack, settings, choice, clock)
            results = []
            for scenario in scenarios:
                played = await play(services, scenario)
                results.append(ScenarioResult(scenario, played, score(scenario, played, schemas)))
    return ModelResult(model or choice.model_name, choice.model_name, results)
