"""What `lex eval` scores in a played conversation: behaviour that matters, never exact wording.

Per turn: the turn was answered; the right tools were called (and forbidden ones were not); every
call's arguments are valid for the tool and carry the expected values; a booking was preceded by
a successful availability check for that dealership and day; no booking or confirmation id was
invented; no price was quoted; the reply is in the customer's language; no reasoning or raw tool
syntax leaked into the reply. Per conversation: a booking was made when one should be, and none
when none may be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from api.evaluation.scenarios import ExpectedCall, Scenario, ScriptedTurn
from api.stream.events import TextChunk, ToolOutput, ToolUse, TurnError, TurnEvent
from tools.names import CHECK_APPOINTMENT_AVAILABILITY, SCHEDULE_APPOINTMENT

ANSWERED = "answered"
RIGHT_TOOL = "right_tool"
VALID_ARGS = "valid_args"
AVAILABILITY_FIRST = "availability_first"
NO_INVENTED_BOOKING = "no_invented_booking"
NO_PRICES = "no_prices"
LANGUAGE = "language"
NO_REASONING = "no_reasoning"
BOOKING_OUTCOME = "booking_outcome"

CONFIRMATION_ID = re.compile(r"\bSC-[A-Z0-9]{4,}\b")
BOOKING_CLAIM = re.compile(
    r"\b(you(?:'re| are) (?:all )?booked|is (?:now )?(?:booked|confirmed)|"
    r"(?:booking|appointment|test drive) (?:is |has been )?confirmed|i(?:'ve| have) booked|"
    r"reserva (?:está )?confirmada|he reservado)\b",
    re.IGNORECASE,
)
PRICE = re.compile(
    r"[$€£]\s?\d|\b\d[\d,.]*\s?(?:dollars|usd|eur|euros|dólares)\b|\bmsrp\b", re.IGNORECASE
)
LEAKED_REASONING = re.compile(
    r"<\/?think>|<\/?reasoning>|<function=|\"tool_calls\"|\bfunctions\.\w+\(|"
    r"^\s*(?:thought|reasoning|analysis|scratchpad)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are you your to of in for it at on with can would will this that have "
        "what here there be we our i".split()
    ),
    "es": frozenset(
        "el la los las de del que y en un una es son para por con su sus se te tu usted hoy "
        "puede puedo está hay qué como muy".split()
    ),
    "fr": frozenset("le la les des du et est vous votre pour avec une dans sur pas".split()),
    "de": frozenset("der die das und ist sie ihr für mit ein eine nicht auf heute".split()),
    "pt": frozenset("o os as do da que e em um uma é para por com você hoje não".split()),
}
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class Check:
    """One scored point.

    Attributes:
        name: What was checked, e.g. `availability_first`.
        passed: Whether the model did the right thing.
        turn: The turn it was checked on (1-based), None for the whole conversation.
        detail: Why it failed (empty when it passed).
    """

    name: str
    passed: bool
    turn: int | None = None
    detail: str = ""


@dataclass
class PlayedTurn:
    """One turn as the customer saw it: its events in order.

    Attributes:
        script: The scripted turn.
        events: Everything the turn streamed.
    """

    script: ScriptedTurn
    events: list[TurnEvent] = field(default_factory=list)

    @property
    def calls(self) -> list[ToolUse]:
        """The tool calls made, in order."""
        return [e for e in self.events if isinstance(e, ToolUse)]

    @property
    def outputs(self) -> list[ToolOutput]:
        """The tool results, in order."""
        return [e for e in self.events if isinstance(e, ToolOutput)]

    @property
    def reply(self) -> str:
        """The text the model answered (what the customer read, failure notes aside)."""
        return "".join(e.text for e in self.events if isinstance(e, TextChunk) and e.message_id)

    @property
    def error(self) -> str | None:
        """The error code the turn ended with, if any."""
        return next((e.code for e in self.events if isinstance(e, TurnError)), None)


def detect_language(text: str) -> str | None:
    """Returns the language whose common words the text uses most, None when it has none."""
    words = [word.lower() for word in WORD.findall(text)]
    counts = {lang: sum(word in stop for word in words) for lang, stop in STOPWORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    return best if counts[best] > 0 else None


def score(
    scenario: Scenario, played: Sequence[PlayedTurn], schemas: Mapping[str, type[BaseModel]]
) -> list[Check]:
    """Returns every check of a played scenario."""
    checks: list[Check] = []
    history: list[TurnEvent] = []
    booked_ids: set[str] = set()
    for number, turn in enumerate(played, start=1):
        checks.append(_answered(turn, number))
        if turn.script.tools or turn.script.forbid:
            checks.append(_right_tool(turn, number))
        if turn.calls or turn.script.tools:
            checks.append(_valid_args(turn, number, schemas))
        checks.extend(_availability_first(history, turn, number))
        booked_ids.update(_confirmation_ids(turn.outputs))
        checks.append(_no_invented_booking(turn, number, booked_ids))
        checks.append(_pattern_absent(NO_PRICES, PRICE, turn, number, "quotes a price"))
        checks.append(_language(scenario.language, turn, number))
        checks.append(
            _pattern_absent(NO_REASONING, LEAKED_REASONING, turn, number, "leaks reasoning")
        )
        history.extend(turn.events)
    if scenario.booked is not None:
        booked = any(_is_booking(output) for turn in played for output in turn.outputs)
        detail = "" if booked == scenario.booked else f"booked={booked}, expected {scenario.booked}"
        checks.append(Check(BOOKING_OUTCOME, booked == scenario.booked, None, detail))
    return checks


def _answered(turn: PlayedTurn, number: int) -> Check:
    if turn.error:
        return Check(ANSWERED, False, number, f"the turn failed: {turn.error}")
    if not turn.reply.strip():
        return Check(ANSWERED, False, number, "no text in reply")
    return Check(ANSWERED, True, number)


def _same(value: Any, expected: str) -> bool:
    return str(value).strip().casefold() == expected.strip().casefold()


def _matches(call: ToolUse, expected: ExpectedCall) -> bool:
    return call.name == expected.name and all(
        _same(call.args.get(key, ""), value) for key, value in expected.args.items()
    )


def _right_tool(turn: PlayedTurn, number: int) -> Check:
    called = [call.name for call in turn.calls]
    missing = [e.name for e in turn.script.tools if e.name not in called]
    forbidden = [name for name in turn.script.forbid if name in called]
    if missing or forbidden:
        detail = f"called {called or 'nothing'}; missing {missing}; forbidden {forbidden}"
        return Check(RIGHT_TOOL, False, number, detail)
    return Check(RIGHT_TOOL, True, number)


def _valid_args(turn: PlayedTurn, number: int, schemas: Mapping[str, type[BaseModel]]) -> Check:
    for call in turn.calls:
        schema = schemas.get(call.name)
        if schema is None:
            return Check(VALID_ARGS, False, number, f"unknown tool {call.name}")
        try:
            schema.model_validate(call.args)
        except ValidationError as error:
            return Check(VALID_ARGS, False, number, f"{call.name}: {error.error_count()} errors")
    for expected in turn.script.tools:
        same_tool = [call for call in turn.calls if call.name == expected.name]
        if same_tool and not any(_matches(call, expected) for call in same_tool):
            got = same_tool[0].args
            return Check(VALID_ARGS, False, number, f"{expected.name}{got} != {expected.args}")
    return Check(VALID_ARGS, True, number)


def _checked_slots(events: Sequence[TurnEvent]) -> set[tuple[str, str]]:
    """The (dealership, date) pairs an availability check answered successfully."""
    calls = {e.id: e for e in events if isinstance(e, ToolUse)}
    slots = set()
    for event in events:
        if (
            isinstance(event, ToolOutput)
            and event.name == CHECK_APPOINTMENT_AVAILABILITY
            and event.status == "success"
            and event.id in calls
        ):
            args = calls[event.id].args
            slots.add((str(args.get("dealership_id", "")).casefold(), str(args.get("date", ""))))
    return slots


def _availability_first(history: Sequence[TurnEvent], turn: PlayedTurn, number: int) -> list[Check]:
    checks = []
    for index, event in enumerate(turn.events):
        if not (isinstance(event, ToolUse) and event.name == SCHEDULE_APPOINTMENT):
            continue
        slot = (str(event.args.get("dealership_id", "")).casefold(), str(event.args.get("date")))
        checked = _checked_slots([*history, *turn.events[:index]])
        passed = slot in checked
        detail = "" if passed else f"booked {slot} without a successful availability check"
        checks.append(Check(AVAILABILITY_FIRST, passed, number, detail))
    return checks


def _is_booking(output: ToolOutput) -> bool:
    return output.name == SCHEDULE_APPOINTMENT and output.status == "success"


def _confirmation_ids(outputs: Sequence[ToolOutput]) -> set[str]:
    found: set[str] = set()
    for output in outputs:
        if output.status == "success":
            found.update(CONFIRMATION_ID.findall(str(output.output)))
    return found


def _no_invented_booking(turn: PlayedTurn, number: int, real_ids: set[str]) -> Check:
    invented = set(CONFIRMATION_ID.findall(turn.reply)) - real_ids
    if invented:
        return Check(NO_INVENTED_BOOKING, False, number, f"invented ids {sorted(invented)}")
    booked_now = any(_is_booking(output) for output in turn.outputs)
    claim = BOOKING_CLAIM.search(turn.reply)
    if claim and not booked_now:
        return Check(NO_INVENTED_BOOKING, False, number, f"claims {claim.group(0)!r}, none made")
    return Check(NO_INVENTED_BOOKING, True, number)


def _pattern_absent(
    name: str, pattern: re.Pattern[str], turn: PlayedTurn, number: int, what: str
) -> Check:
    found = pattern.search(turn.reply)
    return Check(name, found is None, number, f"{what}: {found.group(0)!r}" if found else "")


def _language(expected: str, turn: PlayedTurn, number: int) -> Check:
    found = detect_language(turn.reply)
    detail = "" if found == expected else f"reply in {found or 'no language'}, not {expected}"
    return Check(LANGUAGE, found == expected, number, detail)
