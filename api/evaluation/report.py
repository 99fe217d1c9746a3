"""Prints evaluation results: one row per scenario, one column per model, then what failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from api.evaluation.runner import ModelResult

SCENARIO_COLUMN = "scenario"
OVERALL_ROW = "overall"
CLEAN_ROW = "scenarios all passed"


def percent(passed: int, total: int) -> str:
    """Returns `passed/total` as a whole percentage."""
    return f"{round(100 * passed / total)}%" if total else "-"


def write_report(results: Sequence[ModelResult], out: TextIO) -> None:
    """Writes the score table and the failed checks of every model."""
    if not results:
        return
    names = [result.scenario.name for result in results[0].scenarios]
    headers = [SCENARIO_COLUMN, *(result.label for result in results)]
    rows = [
        [name, *(f"{r.scenarios[i].passed}/{len(r.scenarios[i].checks)}" for r in results)]
        for i, name in enumerate(names)
    ]
    totals = [
        [OVERALL_ROW, *(f"{r.passed}/{r.total} {percent(r.passed, r.total)}" for r in results)],
        [CLEAN_ROW, *(f"{r.scenarios_passed}/{len(r.scenarios)}" for r in results)],
    ]
    widths = [max(len(row[c]) for row in [headers, *rows, *totals]) for c in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    out.write(line(headers).rstrip() + "\n")
    out.write(line(["-" * width for width in widths]) + "\n")
    for row in rows:
        out.write(line(row).rstrip() + "\n")
    out.write(line(["-" * width for width in widths]) + "\n")
    for row in totals:
        out.write(line(row).rstrip() + "\n")

    for result in results:
        failed = [
            (scenario.scenario.name, check)
            for scenario in result.scenarios
            for check in scenario.checks
            if not check.passed
        ]
        if not failed:
            continue
        served = "" if result.label == result.model_name else f" (served by {result.model_name})"
        out.write(f"\nfailed checks, {result.label}{served}:\n")
        for scenario_name, check in failed:
            where = f" turn {check.turn}" if check.turn is not None else ""
            out.write(f"  {scenario_name}{where}: {check.name}: {check.detail}\n")
