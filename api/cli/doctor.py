"""`lex doctor`: checks a Groq key end to end and prints a verdict table (exit 1 on a failure).

It reads the same settings as the service, lists the models the account is served, shows which
one Lex would answer with and why, then spends a few tokens on one tool-calling round trip and one
streamed answer through the same ChatGroq client the service builds. It talks to Groq, never to a
running Lex.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    SystemMessage,
)

from agent.prompts import build_system_prompt
from agent.reasoning import REASONING_KEYS, strip_think_blocks
from api.chat_models import groq_model, list_served_models, resolve_for
from api.cli.common import Subcommands
from api.settings import Settings
from tools import InMemoryAppointmentBook, ToolServices, build_tools
from tools.domain.directory import directory_prompt_lines
from tools.names import GET_WEATHER

Verdict = Literal["ok", "warn", "FAIL"]
TOOL_QUESTION = "What's the weather in Miami right now?"
STREAM_QUESTION = "Greet a customer who just arrived, in one short sentence."
SHOWN_CHARS = 60


@dataclass(frozen=True)
class Check:
    """One line of the verdict table."""

    name: str
    verdict: Verdict
    detail: str


def register(subcommands: Subcommands) -> None:
    """Adds the `doctor` subcommand."""
    doctor = subcommands.add_parser(
        "doctor",
        help="check the Groq key: served models, the model Lex picks, a tool call, a stream",
        description=(
            "With GROQ_API_KEY (environment or .env): list the served models, show which one "
            "Lex answers with and why, run one tool-calling round trip and one streamed answer "
            "(a few tokens), and print a verdict table. Exit code 1 when a check fails."
        ),
    )
    doctor.set_defaults(run=run_doctor)


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOWN_CHARS else flat[: SHOWN_CHARS - 1] + "…"


def _messages(settings: Settings, question: str) -> list[BaseMessage]:
    system = build_system_prompt(
        now=ToolServices(appointments=InMemoryAppointmentBook()).now(),
        timezone=settings.timezone,
        facts=directory_prompt_lines(),
    )
    return [SystemMessage(system), HumanMessage(question)]


async def _tool_round_trip(settings: Settings, model_name: str) -> Check:
    tools = build_tools(ToolServices(appointments=InMemoryAppointmentBook()))
    model = groq_model(settings, model_name).bind_tools(tools)
    started = time.perf_counter()
    try:
        answer = await model.ainvoke(_messages(settings, TOOL_QUESTION))
    except Exception as error:
        return Check("tool call", "FAIL", f"{type(error).__name__}: {_shorten(str(error))}")
    elapsed = time.perf_counter() - started
    calls = answer.tool_calls if isinstance(answer, AIMessage) else []
    if not calls:
        return Check("tool call", "FAIL", f"no tool call; answered {answer.text!r:.60}")
    call = calls[0]
    args = ", ".join(f"{key}={value!r}" for key, value in call["args"].items())
    verdict: Verdict = "ok" if call["name"] == GET_WEATHER else "warn"
    return Check("tool call", verdict, f"{call['name']}({args}) in {elapsed:.2f} s")


async def _streamed_answer(settings: Settings, model_name: str) -> Check:
    model = groq_model(settings, model_name)
    started = time.perf_counter()
    first: float | None = None
    pieces = 0
    merged: BaseMessageChunk | None = None
    try:
        async for chunk in model.astream(_messages(settings, STREAM_QUESTION)):
            merged = chunk if merged is None else merged + chunk
            if chunk.text:
                first = first if first is not None else time.perf_counter() - started
                pieces += 1
    except Exception as error:
        return Check("streamed answer", "FAIL", f"{type(error).__name__}: {_shorten(str(error))}")
    raw = merged.text if merged is not None else ""
    shown = strip_think_blocks(raw)
    if not shown.strip():
        return Check("streamed answer", "FAIL", "the answer had no text")
    timing = f"{pieces} chunks, first after {first or 0:.2f} s"
    extra = merged.additional_kwargs if merged is not None else {}
    if shown != raw or any(key in extra for key in REASONING_KEYS):
        return Check(
            "streamed answer",
            "warn",
            f"{timing}; the model sent its reasoning along (Lex keeps it from the customer)",
        )
    return Check("streamed answer", "ok", f"{_shorten(shown)!r}; {timing}, no reasoning shown")


async def diagnose(settings: Settings) -> list[Check]:
    """Runs every check in order; later checks are skipped when an earlier one makes them moot."""
    if settings.groq_api_key is None:
        return [Check("key", "FAIL", "GROQ_API_KEY is not set (environment or .env)")]
    key = settings.groq_api_key.get_secret_value()
    checks = [Check("key", "ok", f"GROQ_API_KEY set (…{key[-4:]})")]
    served = await asyncio.to_thread(list_served_models, settings)
    if served is None:
        checks.append(
            Check("served models", "FAIL", "could not list them (key, network or Groq: see log)")
        )
        return checks
    checks.append(Check("served models", "ok", f"{len(served)}: {', '.join(served)}"))
    resolution = resolve_for(settings, served)
    usable = resolution.model in served
    named_and_replaced = resolution.replaced is not None and resolution.requested is not None
    verdict: Verdict = "FAIL" if not usable else "warn" if named_and_replaced else "ok"
    checks.append(Check("model", verdict, resolution.reason))
    checks.append(
        Check("fallbacks", "ok" if usable else "warn", ", ".join(resolution.fallbacks) or "none")
    )
    if not usable:
        return checks
    checks.append(await _tool_round_trip(settings, resolution.model))
    checks.append(await _streamed_answer(settings, resolution.model))
    return checks


def format_table(checks: Sequence[Check]) -> str:
    """The verdict table, one check a line, then the overall verdict."""
    width = max(len(check.name) for check in checks)
    lines = [f"{'check':<{width}}  verdict  detail"]
    lines.extend(f"{c.name:<{width}}  {c.verdict:<7}  {c.detail}" for c in checks)
    failed = [c.name for c in checks if c.verdict == "FAIL"]
    lines.append("")
    lines.append(f"verdict: FAIL ({', '.join(failed)})" if failed else "verdict: Lex can answer")
    return "\n".join(lines) + "\n"


def run_doctor(args: argparse.Namespace, out: TextIO) -> int:
    """Runs `lex doctor`; returns 1 when a check failed."""
    checks = asyncio.run(diagnose(Settings()))
    out.write(format_table(checks))
    return 1 if any(check.verdict == "FAIL" for check in checks) else 0
