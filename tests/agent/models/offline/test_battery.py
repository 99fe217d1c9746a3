"""The offline model against the battery of customer turns, through the real graph and SQLite.

Scores every turn, prints the score by kind with each failure under its kind, writes the same
report to test-artifacts/offline/battery.txt, and fails below the target.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tests.agent.models.offline.battery import BATTERY, turn_count
from tests.agent.models.offline.harness import offline_lex

TARGET = 0.95
MIN_TURNS = 150
REPORT = Path(__file__).resolve().parents[4] / "test-artifacts" / "offline" / "battery.txt"


async def run_battery(database: Path) -> tuple[dict[str, list[bool]], dict[str, list[str]]]:
    scores: dict[str, list[bool]] = defaultdict(list)
    failures: dict[str, list[str]] = defaultdict(list)
    for index, conversation in enumerate(BATTERY):
        # A database of its own per conversation: no slot is taken by another conversation.
        async with offline_lex(database.with_name(f"{database.stem}-{index}.sqlite")) as lex:
            user = f"battery-{index}"
            for other, message in conversation.before:
                owner = user if conversation.same_customer_as_before else f"{user}-{other}"
                await lex.chat(owner).say(message)
            chat = lex.chat(user)
            for turn in conversation.turns:
                result = await chat.say(turn.text)
                problems = [p for check in turn.checks if (p := check(result))]
                scores[conversation.kind].append(not problems)
                if problems:
                    failures[conversation.kind].append(f"{turn.text!r}: {'; '.join(problems)}")
    return scores, failures


def report(scores: dict[str, list[bool]], failures: dict[str, list[str]]) -> str:
    lines = [f"{'kind':<36} {'turns':>5} {'passed':>6} {'score':>6}"]
    for kind, results in scores.items():
        lines.append(
            f"{kind:<36} {len(results):>5} {sum(results):>6} {sum(results) / len(results):>6.0%}"
        )
    total = [r for results in scores.values() for r in results]
    lines.append(f"{'all':<36} {len(total):>5} {sum(total):>6} {sum(total) / len(total):>6.1%}")
    for kind, problems in failures.items():
        lines.append(f"failed, {kind}:")
        lines.extend(f"  {problem}" for problem in problems)
    return "\n".join(lines)


async def test_the_battery_scores_at_least_95_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert turn_count() >= MIN_TURNS
    scores, failures = await run_battery(tmp_path / "battery.sqlite")
    text = report(scores, failures)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + "\n", encoding="utf-8")
    with capsys.disabled():
        print(f"\noffline model battery:\n{text}")
    total = [r for results in scores.values() for r in results]
    assert sum(total) / len(total) >= TARGET, text
