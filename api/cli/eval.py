"""`lex eval`: scores the configured model (or the ones named) on scripted customer conversations.

Run it after Groq announces a retirement, with the replacement named twice over:
`lex eval --model llama-3.3-70b-versatile --model openai/gpt-oss-120b`. Unlike the other commands
it talks to the model directly (GROQ_API_KEY, GROQ_API_BASE from the environment or `.env`), not to
a running Lex: each model gets a scratch service of its own. `offline` names the offline model.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from typing import TextIO
from zoneinfo import ZoneInfo

from api.cli.common import CliError, Subcommands
from api.evaluation.report import percent, write_report
from api.evaluation.runner import ModelResult, evaluate_model, pinned_clock
from api.evaluation.scenarios import load_scenarios
from api.settings import Settings
from tools.domain.clock import utc_now


def register(subcommands: Subcommands) -> None:
    """Adds the `eval` subcommand."""
    parser = subcommands.add_parser(
        "eval",
        help="score a model on scripted customer conversations",
        description=(
            "Play the scripted conversations against the configured model (or each --model) "
            "through Lex's own graph and tools, and score the right tools and arguments, "
            "availability checked before booking, no invented bookings or prices, the "
            "customer's language, and no leaked reasoning."
        ),
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="a Groq model id, or `offline`; repeat to compare (default: the configured model)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="play only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        help="pin today's date, YYYY-MM-DD (default: the real date in TIMEZONE)",
    )
    parser.add_argument(
        "--min-score",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="exit with 1 when a model scores below this percentage",
    )
    parser.set_defaults(run=run_eval)


async def evaluate(args: argparse.Namespace, settings: Settings) -> list[ModelResult]:
    """Plays the chosen scenarios against each model in turn."""
    today = args.today or utc_now().astimezone(ZoneInfo(settings.timezone)).date()
    scenarios = load_scenarios(today)
    if args.scenario:
        unknown = set(args.scenario) - {scenario.name for scenario in scenarios}
        if unknown:
            raise CliError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        scenarios = [scenario for scenario in scenarios if scenario.name in args.scenario]
    results = []
    for model in args.model or [None]:
        clock = pinned_clock(today, settings.timezone) if args.today else utc_now
        results.append(await evaluate_model(settings, model, scenarios, clock))
    return results


def run_eval(args: argparse.Namespace, out: TextIO) -> int:
    """Runs `lex eval`; returns 1 when a model scores below `--min-score`."""
    results = asyncio.run(evaluate(args, Settings()))
    write_report(results, out)
    below = [r for r in results if r.total and 100 * r.passed / r.total < args.min_score]
    for result in below:
        out.write(
            f"\n{result.label} scores {percent(result.passed, result.total)}, "
            f"below --min-score {args.min_score:g}%\n"
        )
    return 1 if below else 0
