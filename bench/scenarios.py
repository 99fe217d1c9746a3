"""The measurements of `make bench`, each a function of running servers and a profile.

- `overhead_phase`: one target at one concurrency, for one kind of turn (the floor is a target);
- `long_session`: one session of hundreds of turns: latency and database size as it grows;
- `memory_soak`: many turns over many sessions while the server's memory is sampled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.clients import FloorClient, LexClient, TurnClient, TurnKind, TurnTiming
from bench.load import (
    LoadResult,
    always,
    every_fourth_tool,
    latency_summary,
    milliseconds,
    run_load,
)
from bench.processes import checkpoint_payload_bytes, database_bytes, peak_rss_bytes, rss_bytes
from bench.storage import read_transcript

logger = logging.getLogger(__name__)

RSS_SAMPLE_EVERY_S = 0.25


def http_client(concurrency: int) -> httpx.AsyncClient:
    """An HTTP client with a connection for every concurrent customer."""
    limits = httpx.Limits(
        max_connections=concurrency + 5, max_keepalive_connections=concurrency + 5
    )
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0))


@dataclass
class RssWatch:
    """The highest resident memory seen while sampling a process tree."""

    pid: int
    peak: int = 0

    def sample(self) -> int:
        """Reads the tree's resident memory now and keeps the peak."""
        now = rss_bytes(self.pid)
        self.peak = max(self.peak, now)
        return now


@contextlib.asynccontextmanager
async def sampling(watch: RssWatch | None) -> AsyncIterator[None]:
    """Samples `watch` in the background for the duration of the block."""
    if watch is None:
        yield
        return

    async def loop() -> None:
        while True:
            watch.sample()
            await asyncio.sleep(RSS_SAMPLE_EVERY_S)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        watch.sample()


async def warm_up(client: TurnClient, prefix: str) -> None:
    """A few untimed turns of each kind: imports, connections and caches warm."""
    kinds: list[TurnKind] = ["plain", "tool", "plain", "tool"]
    for kind in kinds:
        await client.turn(f"{prefix}-warmup", kind)


async def overhead_phase(
    client: TurnClient,
    *,
    kind: TurnKind,
    concurrency: int,
    turns: int,
    prefix: str,
    watch: RssWatch | None = None,
) -> LoadResult:
    """Runs `turns` turns of one kind at one concurrency, sessions of 10 turns."""
    async with sampling(watch):
        return await run_load(
            client,
            turns=turns,
            concurrency=concurrency,
            session_prefix=prefix,
            turns_per_session=10,
            kind_of=always(kind),
        )


def phase_row(result: LoadResult) -> dict[str, Any]:
    """The numbers of one phase, as the report keeps them."""
    completed = result.completed
    row: dict[str, Any] = {
        "turns": len(result.timings),
        "errors": len(result.errors),
        "error_examples": sorted(set(result.errors))[:3],
        **latency_summary(completed),
        "turns_per_s": round(result.turns_per_s, 1),
        "wall_s": round(result.wall_s, 2),
    }
    return row


@dataclass(frozen=True)
class LongSessionMark:
    """The state of the long session right after one of its turns.

    Attributes:
        turn: The turn number (from 1).
        end_p50_ms: Median time to end of the plain turns among the last ten.
        first_chunk_p50_ms: Median time to first chunk of the same turns.
        floor_end_p50_ms: Median time of the same model call made directly, with this history.
        database_bytes: Bytes the database file uses (tables, indexes, free space in pages).
        payload_bytes: Bytes of the checkpoint and write blobs alone.
        transcript_bytes: Bytes of the conversation serialized once.
        text_bytes: Bytes of the conversation's text alone.
        messages: Messages in the conversation.
    """

    turn: int
    end_p50_ms: float | None
    first_chunk_p50_ms: float | None
    floor_end_p50_ms: float | None
    database_bytes: int
    payload_bytes: int
    transcript_bytes: int
    text_bytes: int
    messages: int

    @property
    def storage_ratio(self) -> float:
        """Database bytes per transcript byte."""
        return self.database_bytes / self.transcript_bytes if self.transcript_bytes else 0.0


async def floor_with_history(
    floor: FloorClient, history: list[Any], samples: int = 5
) -> float | None:
    """Median time of a plain turn's model call made directly on top of `history`."""
    ends: list[float] = []
    for _ in range(samples):
        floor.sessions["long"] = list(history)
        timing = await floor.turn("long", "plain")
        if timing.error is None:
            ends.append(timing.end_s)
    return milliseconds(statistics.median(ends)) if ends else None


async def long_session(
    lex: LexClient,
    floor: FloorClient,
    database: Path,
    *,
    turns: int,
    marks: tuple[int, ...],
) -> tuple[list[LongSessionMark], list[TurnTiming]]:
    """One session of `turns` turns (every fourth a tool turn), measured at each mark."""
    session = "long"
    timings: list[TurnTiming] = []
    kinds: list[TurnKind] = []
    found: list[LongSessionMark] = []
    for n in range(turns):
        kind = every_fourth_tool(n)
        timings.append(await lex.turn(session, kind))
        kinds.append(kind)
        if n + 1 not in marks:
            continue
        window = [
            t
            for t, k in zip(timings[-10:], kinds[-10:], strict=True)
            if k == "plain" and t.error is None
        ]
        summary = latency_summary(window)
        transcript = await read_transcript(database, f"{lex.prefix}-{session}")
        found.append(
            LongSessionMark(
                turn=n + 1,
                end_p50_ms=summary["end_p50_ms"],
                first_chunk_p50_ms=summary["first_chunk_p50_ms"],
                floor_end_p50_ms=await floor_with_history(floor, transcript.messages),
                database_bytes=database_bytes(database),
                payload_bytes=checkpoint_payload_bytes(database),
                transcript_bytes=transcript.serialized_bytes,
                text_bytes=transcript.text_bytes,
                messages=len(transcript.messages),
            )
        )
        logger.info("long session: %s", found[-1])
    return found, timings


async def memory_soak(
    client: TurnClient,
    pid: int,
    *,
    turns: int,
    sessions: int,
    concurrency: int,
    prefix: str,
) -> dict[str, Any]:
    """Runs `turns` turns over `sessions` sessions; samples the server's memory as it goes."""
    watch = RssWatch(pid)
    start_rss = watch.sample()
    curve: list[tuple[int, int]] = []
    step = max(1, turns // 10)

    def on_turn(done: int) -> None:
        if done % step == 0:
            curve.append((done, watch.sample()))

    async with sampling(watch):
        result = await run_load(
            client,
            turns=turns,
            concurrency=concurrency,
            session_prefix=prefix,
            turns_per_session=max(1, turns // sessions),
            kind_of=every_fourth_tool,
            on_turn=on_turn,
        )
    return {
        "turns": turns,
        "sessions": sessions,
        "concurrency": concurrency,
        "errors": len(result.errors),
        "turns_per_s": round(result.turns_per_s, 1),
        "rss_at_start_bytes": start_rss,
        "peak_rss_bytes": max(watch.peak, peak_rss_bytes(pid)),
        "rss_curve": [{"turns": done, "rss_bytes": rss} for done, rss in curve],
        **latency_summary(result.completed),
    }
