"""Drives turns at a fixed concurrency and summarises their timings.

`concurrency` virtual customers each run their share of the turns back to back, moving to a new
session every `turns_per_session` turns, so no session ever has two turns at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.clients import TurnClient, TurnKind, TurnTiming


@dataclass(frozen=True)
class LoadResult:
    """The timings of one load phase.

    Attributes:
        timings: One per turn, in completion order.
        wall_s: Seconds from the first request to the last answer.
    """

    timings: list[TurnTiming]
    wall_s: float

    @property
    def completed(self) -> list[TurnTiming]:
        """The turns that ended without an error."""
        return [t for t in self.timings if t.error is None]

    @property
    def errors(self) -> list[str]:
        """What went wrong, one entry per failed turn."""
        return [t.error for t in self.timings if t.error is not None]

    @property
    def turns_per_s(self) -> float:
        """Completed turns per second of wall time."""
        return len(self.completed) / self.wall_s if self.wall_s > 0 else 0.0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def milliseconds(value: float | None) -> float | None:
    """Seconds as milliseconds rounded to 0.1 ms (None stays None)."""
    return None if value is None else round(value * 1000, 1)


def latency_summary(timings: Sequence[TurnTiming]) -> dict[str, float | None]:
    """p50 and p99 of the time to first chunk and to end, in milliseconds."""
    firsts = [t.first_chunk_s for t in timings if t.first_chunk_s is not None]
    ends = [t.end_s for t in timings]
    return {
        "first_chunk_p50_ms": milliseconds(percentile(firsts, 0.50)),
        "first_chunk_p99_ms": milliseconds(percentile(firsts, 0.99)),
        "end_p50_ms": milliseconds(percentile(ends, 0.50)),
        "end_p99_ms": milliseconds(percentile(ends, 0.99)),
    }


KindPicker = Callable[[int], TurnKind]
"""Which kind of turn the n-th turn of a session is (n from 0)."""


def always(kind: TurnKind) -> KindPicker:
    """Every turn of the given kind."""
    return lambda _n: kind


def every_fourth_tool(n: int) -> TurnKind:
    """A weather (tool) turn every fourth turn, plain answers otherwise."""
    return "tool" if n % 4 == 3 else "plain"


async def run_load(
    client: TurnClient,
    *,
    turns: int,
    concurrency: int,
    session_prefix: str,
    turns_per_session: int,
    kind_of: KindPicker,
    on_turn: Callable[[int], None] | None = None,
) -> LoadResult:
    """Runs `turns` turns with `concurrency` customers at once.

    Args:
        client: The target.
        turns: Turns in all.
        concurrency: Customers running turns at the same time.
        session_prefix: Makes this phase's session ids unique.
        turns_per_session: Turns of one session before its customer starts a new one.
        kind_of: The kind of a session's n-th turn.
        on_turn: Called with the count of finished turns after each one (progress, sampling).
    """
    share = [
        turns // concurrency + (1 if i < turns % concurrency else 0) for i in range(concurrency)
    ]
    timings: list[TurnTiming] = []

    async def customer(index: int) -> None:
        for n in range(share[index]):
            session = f"{session_prefix}-{index}-{n // turns_per_session}"
            timings.append(await client.turn(session, kind_of(n % turns_per_session)))
            if on_turn is not None:
                on_turn(len(timings))

    started = time.perf_counter()
    await asyncio.gather(*(customer(i) for i in range(concurrency)))
    return LoadResult(timings, time.perf_counter() - started)
