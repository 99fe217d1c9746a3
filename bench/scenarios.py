"""The measurements of `make bench`, each a function of running servers and a profile.

- `overhead_phase`: one target at one concurrency, for one kind of turn (the floor is a target);
- `long_session`: one session of hundreds of turns: latency and database size as it grows;
- `same_server_costs`: then that session and a new one on its server, turn for turn;
- `memory_soak`: many turns over many sessions while the server's memory is sampled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.clients import (
    OPERATOR_HEADERS,
    LexClient,
    RequestReplay,
    TurnClient,
    TurnKind,
    TurnTiming,
)
from bench.load import (
    LoadResult,
    always,
    every_fourth_tool,
    latency_summary,
    milliseconds,
    run_load,
)
from bench.processes import (
    StandIn,
    checkpoint_payload_bytes,
    database_bytes,
    peak_rss_bytes,
    rss_bytes,
)
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


LONG_SESSION_WINDOW = 10
"""Turns before each mark whose plain turns are measured."""
FLOOR_REPLAYS = 3
"""Times each plain turn's model request is sent again; the fastest is its floor."""
SAME_SERVER_TURNS = 30
"""Plain turns of each session in the same-server comparison (about 3 s in all)."""
LISTING_SAMPLES = 7
"""Timed reads of each listing after the long session; the median is kept."""
CHECKPOINTS_LISTED = 100


@dataclass(frozen=True)
class LongSessionMark:
    """The state of the long session right after one of its turns.

    Attributes:
        turn: The turn number (from 1).
        end_p50_ms: Median time to end of the plain turns among the last ten.
        first_chunk_p50_ms: Median time to first chunk of the same turns.
        floor_end_p50_ms: Median time of the same turns' model requests, sent again as Lex sent
            them (same prompt, trimmed history and tools) with the Groq SDK alone.
        own_p50_ms: Median of each of those turns' time minus its own floor: Lex's own cost.
        reference_own_p50_ms: Lex's own cost over the first ten turns of a new session on a second
            Lex server (warmed up, and serving only such short sessions), its turns interleaved
            with this window's: the turns of the first mark, measured at the same moment as this
            mark. None without a second server.
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
    own_p50_ms: float | None
    reference_own_p50_ms: float | None
    database_bytes: int
    payload_bytes: int
    transcript_bytes: int
    text_bytes: int
    messages: int

    @property
    def storage_ratio(self) -> float:
        """Database bytes per transcript byte."""
        return self.database_bytes / self.transcript_bytes if self.transcript_bytes else 0.0

    @property
    def beyond_transcript_per_turn(self) -> float:
        """Bytes stored per turn beyond the transcript's own bytes."""
        return (self.database_bytes - self.transcript_bytes) / self.turn


@dataclass(frozen=True)
class SameServerCosts:
    """Lex's own cost, after the long session's last turn, of it and of a new session beside it.

    Both run on the long session's server, their turns interleaved, so the process, its heap and
    its database are the same: what differs is the turn itself. The work the server does after a
    turn's `end` (the long session's fold) falls as often on either session's next turn.

    Attributes:
        turns: Plain turns asked of each session.
        errors: Turns of either session that failed (left out of the medians).
        long_own_p50_ms: The long session's own cost (end minus its floor), median.
        new_own_p50_ms: New sessions' own cost over their first ten turns, median.
    """

    turns: int
    errors: int
    long_own_p50_ms: float | None
    new_own_p50_ms: float | None


@dataclass(frozen=True)
class ListingTimes:
    """Median times of the session reads after the long session, in milliseconds.

    Attributes:
        checkpoints_ms: `GET /sessions/{id}/checkpoints?limit=100`.
        transcript_ms: `GET /sessions/{id}`.
    """

    checkpoints_ms: float
    transcript_ms: float


async def replayed_floor(replay: RequestReplay, body: dict[str, Any]) -> float:
    """The fastest of a few sends of one model request, in seconds."""
    return min([await replay.seconds(body) for _ in range(FLOOR_REPLAYS)])


async def own_costs(
    replay: RequestReplay, turns: Sequence[tuple[TurnTiming, dict[str, Any]]]
) -> list[tuple[float, float]]:
    """Each turn's own cost and floor, in seconds: its time to end minus its request replayed."""
    costs: list[tuple[float, float]] = []
    for timing, body in turns:
        floor = await replayed_floor(replay, body)
        costs.append((timing.end_s - floor, floor))
    return costs


def median_ms(seconds: Sequence[float]) -> float | None:
    """The median in milliseconds, None when there is nothing to take it of."""
    return milliseconds(statistics.median(seconds)) if seconds else None


async def listing_times(lex: LexClient, session_id: str) -> ListingTimes:
    """Times the checkpoint list and the transcript of one session."""
    base = lex.url.removesuffix("/query")

    async def median_ms(path: str, params: dict[str, Any] | None = None) -> float:
        spent: list[float] = []
        for _ in range(LISTING_SAMPLES):
            started = time.perf_counter()
            response = await lex.http.get(base + path, params=params, headers=OPERATOR_HEADERS)
            spent.append(time.perf_counter() - started)
            response.raise_for_status()
        return milliseconds(statistics.median(spent)) or 0.0

    return ListingTimes(
        checkpoints_ms=await median_ms(
            f"/sessions/{session_id}/checkpoints", {"limit": CHECKPOINTS_LISTED}
        ),
        transcript_ms=await median_ms(f"/sessions/{session_id}"),
    )


async def long_session(
    lex: LexClient,
    standin: StandIn,
    replay: RequestReplay,
    database: Path,
    work_dir: Path,
    *,
    turns: int,
    marks: tuple[int, ...],
    alongside: LexClient | None = None,
) -> tuple[list[LongSessionMark], list[TurnTiming], ListingTimes]:
    """One session of `turns` turns (every fourth a tool turn), measured at each mark.

    The machine's speed drifts over a run (the same loop of pure Python took 62 to 106 ms within
    half a minute on a 2-core virtual machine), so comparing a late mark with the first one compares
    two moments as much as two session lengths. With `alongside` (a second Lex server on its own
    database, warmed up), every window is run beside a new session there: one of its turns next to
    each of the window's, first after it, then before it, in turn (so the work either server does
    after a turn's `end` falls as often on the other's turns), the same turn kinds as the first
    mark's.
    """
    session = "long"
    session_id = f"{lex.prefix}-{session}"
    timings: list[TurnTiming] = []
    found: list[LongSessionMark] = []
    request_file = work_dir / "last-request.json"
    window: list[tuple[TurnTiming, dict[str, Any]]] = []
    reference: list[tuple[TurnTiming, dict[str, Any]]] = []
    reference_kinds: list[TurnKind] = []

    async def reference_turn(mark: int) -> None:
        if alongside is None:
            return
        reference_kind = every_fourth_tool(len(reference_kinds))
        reference_kinds.append(reference_kind)
        timing = await alongside.turn(f"new-at-{mark}", reference_kind)
        if reference_kind == "plain" and timing.error is None:
            reference.append((timing, standin.last_request(request_file)))

    for n in range(turns):
        kind = every_fourth_tool(n)
        mark = next((m for m in marks if 0 <= m - (n + 1) < LONG_SESSION_WINDOW), None)
        if mark is not None and not window and not reference_kinds:
            standin.forget_requests()
        reference_first = len(reference_kinds) % 2 == 1
        if mark is not None and reference_first:
            await reference_turn(mark)
        timing = await lex.turn(session, kind)
        timings.append(timing)
        if mark is not None and kind == "plain" and timing.error is None:
            window.append((timing, standin.last_request(request_file)))
        if mark is not None and not reference_first:
            await reference_turn(mark)
        if n + 1 not in marks:
            continue
        own = await own_costs(replay, window)
        reference_own = await own_costs(replay, reference)
        summary = latency_summary([t for t, _ in window])
        floors = [f for _, f in own]
        window, reference, reference_kinds = [], [], []
        transcript = await read_transcript(database, session_id)
        found.append(
            LongSessionMark(
                turn=n + 1,
                end_p50_ms=summary["end_p50_ms"],
                first_chunk_p50_ms=summary["first_chunk_p50_ms"],
                floor_end_p50_ms=milliseconds(statistics.median(floors)) if floors else None,
                own_p50_ms=median_ms([o for o, _ in own]),
                reference_own_p50_ms=median_ms([o for o, _ in reference_own]),
                database_bytes=database_bytes(database),
                payload_bytes=checkpoint_payload_bytes(database),
                transcript_bytes=transcript.serialized_bytes,
                text_bytes=transcript.text_bytes,
                messages=len(transcript.messages),
            )
        )
        logger.info("long session: %s", found[-1])
    listing = await listing_times(lex, session_id)
    logger.info("long session listings: %s", listing)
    return found, timings, listing


async def same_server_costs(
    lex: LexClient, standin: StandIn, replay: RequestReplay, work_dir: Path, *, turns: int
) -> SameServerCosts:
    """`turns` plain turns of the long session and of new sessions on its server, interleaved.

    Run after the long session's last mark, so the new session's bytes never count as the long
    session's. The order alternates (long, new, new, long, ...), so the work a server does after a
    turn's `end` falls as often on either session.
    """
    request_file = work_dir / "last-request.json"
    measured: dict[str, list[tuple[TurnTiming, dict[str, Any]]]] = {"long": [], "new": []}
    errors = 0
    standin.forget_requests()
    for n in range(turns):
        # A new session every ten turns: the first turns of a session, as at the first mark.
        pair = [("long", "long"), ("new", f"new-beside-the-long-one-{n // LONG_SESSION_WINDOW}")]
        for side, session in pair if n % 2 == 0 else reversed(pair):
            timing = await lex.turn(session, "plain")
            if timing.error is None:
                measured[side].append((timing, standin.last_request(request_file)))
            else:
                errors += 1
    long_own, new_own = [await own_costs(replay, measured[side]) for side in ("long", "new")]
    standin.forget_requests()
    return SameServerCosts(
        turns=turns,
        errors=errors,
        long_own_p50_ms=median_ms([o for o, _ in long_own]),
        new_own_p50_ms=median_ms([o for o, _ in new_own]),
    )


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
