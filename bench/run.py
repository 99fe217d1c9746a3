"""Runs the whole benchmark: starts the servers, runs every scenario, writes the report.

Profiles scale the counts: `default` is what `make bench` runs (under ten minutes on two cores),
`full` runs the issue's full counts, `smoke` is a few turns of everything for the test suite.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bench import report
from bench.clients import (
    FloorClient,
    LangGraphDevClient,
    LexClient,
    RequestReplay,
    TurnClient,
    TurnKind,
)
from bench.processes import (
    ROOT,
    Child,
    StandIn,
    langgraph_cli,
    peak_rss_bytes,
    start_langgraph_dev,
    start_lex,
)
from bench.scale_out import scale_out_rows
from bench.scenarios import (
    SAME_SERVER_TURNS,
    RssWatch,
    http_client,
    long_session,
    memory_soak,
    overhead_phase,
    phase_row,
    same_server_costs,
    warm_up,
)

logger = logging.getLogger(__name__)

Mode = Literal["zero", "realistic"]
MODES: dict[Mode, tuple[float, float]] = {
    "zero": (0.0, 0.0),
    "realistic": (200.0, 250.0),  # ms to the first token, tokens per second
}
KINDS: tuple[TurnKind, ...] = ("plain", "tool")


@dataclass(frozen=True)
class Profile:
    """How much of everything to run.

    Attributes:
        name: The profile's name.
        concurrencies: Customers at once in the latency phases.
        turns: Turns per latency phase, by mode and concurrency (Lex and the floor).
        langgraph_dev_turns: Turns per latency phase against `langgraph dev` (it is slower), by
            mode and concurrency.
        long_turns: Turns of the long session.
        long_marks: Turns after which the long session is measured.
        memory_turns: Turns of the memory soak.
        memory_sessions: Sessions they are spread over.
        context_tokens: `CONTEXT_TOKENS` given to the service (the floor trims the same way when
            the service has that setting).
        langgraph_dev: Whether to measure `langgraph dev` too.
        langgraph_dev_jobs: Runs `langgraph dev` executes at once (`--n-jobs-per-worker`).
        modes: The stand-in latencies to measure under.
        scale_out_workers: Worker counts measured on Postgres and Redis.
        scale_out_turns: Turns per scale-out row (tool turns, concurrency 50, realistic).
        scale_out_langgraph_dev_turns: Turns of `langgraph dev` in the scale-out table (0: none).
        only_scale_out: Measure the scale-out table and nothing else.
    """

    name: str
    concurrencies: tuple[int, ...]
    turns: dict[Mode, dict[int, int]]
    langgraph_dev_turns: dict[Mode, dict[int, int]]
    long_turns: int
    long_marks: tuple[int, ...]
    memory_turns: int
    memory_sessions: int
    context_tokens: int = 3000
    langgraph_dev: bool = True
    langgraph_dev_jobs: int = 50
    modes: tuple[Mode, ...] = ("zero", "realistic")
    scale_out_workers: tuple[int, ...] = (1, 2, 4)
    scale_out_turns: int = 400
    scale_out_langgraph_dev_turns: int = 100
    only_scale_out: bool = False

    def phase_turns(self, mode: Mode, concurrency: int, target: str) -> int:
        """Turns of one latency phase for one target."""
        if target == "langgraph dev":
            return self.langgraph_dev_turns[mode][concurrency]
        return self.turns[mode][concurrency]


PROFILES: dict[str, Profile] = {
    "default": Profile(
        name="default",
        concurrencies=(1, 10, 50),
        turns={"zero": {1: 100, 10: 300, 50: 600}, "realistic": {1: 15, 10: 60, 50: 200}},
        langgraph_dev_turns={
            "zero": {1: 12, 10: 100, 50: 300},
            "realistic": {1: 6, 10: 30, 50: 100},
        },
        long_turns=1000,
        long_marks=(10, 100, 1000),
        memory_turns=5_000,
        memory_sessions=500,
    ),
    "full": Profile(
        name="full",
        concurrencies=(1, 10, 50),
        turns={"zero": {1: 200, 10: 500, 50: 1000}, "realistic": {1: 30, 10: 100, 50: 300}},
        langgraph_dev_turns={
            "zero": {1: 50, 10: 300, 50: 1000},
            "realistic": {1: 20, 10: 100, 50: 300},
        },
        long_turns=1000,
        long_marks=(10, 100, 1000),
        memory_turns=10_000,
        memory_sessions=1_000,
    ),
    "smoke": Profile(
        name="smoke",
        concurrencies=(1, 2),
        turns={"zero": {1: 2, 2: 2}, "realistic": {1: 2, 2: 2}},
        langgraph_dev_turns={"zero": {1: 2, 2: 2}, "realistic": {1: 2, 2: 2}},
        long_turns=4,
        long_marks=(2, 4),
        memory_turns=8,
        memory_sessions=4,
        langgraph_dev=False,
        modes=("zero",),
        scale_out_workers=(2,),
        scale_out_turns=4,
        scale_out_langgraph_dev_turns=0,
    ),
}


@dataclass
class Run:
    """The state of one benchmark run: where things go and what was measured."""

    profile: Profile
    out_dir: Path
    work_dir: Path
    started: float = field(default_factory=time.perf_counter)
    overhead: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)
    long: dict[str, Any] = field(default_factory=dict)
    scale_out: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def log_path(self, name: str) -> Path:
        """Where a child process's output goes."""
        logs = self.out_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"{name}.log"


def service_trims_context() -> bool:
    """Whether the service has the `CONTEXT_TOKENS` setting (so it trims what the model sees)."""
    from api.settings import Settings  # the benchmark reads, never wires, the service

    return "context_tokens" in Settings.model_fields


def _add_row(
    run: Run, mode: Mode, kind: TurnKind, concurrency: int, target: str, row: dict[str, Any]
) -> None:
    row = {"mode": mode, "kind": kind, "concurrency": concurrency, "target": target, **row}
    floor = next(
        (
            r
            for r in run.overhead
            if r["target"] == "floor"
            and (r["mode"], r["kind"], r["concurrency"]) == (mode, kind, concurrency)
        ),
        None,
    )
    if floor is not None and target != "floor":
        for key in ("first_chunk_p50_ms", "end_p50_ms"):
            if row.get(key) is not None and floor.get(key) is not None:
                row[f"overhead_{key}"] = round(row[key] - floor[key], 1)
    run.overhead.append(row)
    logger.info("%s", row)


async def latency_phases(
    run: Run,
    standin: StandIn,
    target: str,
    make_client: Callable[[Any], TurnClient],
    watch: RssWatch | None,
) -> None:
    """Every mode, kind and concurrency against one target."""
    for mode in run.profile.modes:
        first_ms, tokens_per_s = MODES[mode]
        standin.set_latency(first_ms, tokens_per_s)
        for concurrency in run.profile.concurrencies:
            async with http_client(concurrency) as http:
                client = make_client(http)
                await warm_up(client, f"{target}-{mode}-{concurrency}".replace(" ", "_"))
                for kind in KINDS:
                    standin.forget_requests()
                    result = await overhead_phase(
                        client,
                        kind=kind,
                        concurrency=concurrency,
                        turns=run.profile.phase_turns(mode, concurrency, target),
                        prefix=f"{target}-{mode}-{kind}-{concurrency}".replace(" ", "_"),
                        watch=watch,
                    )
                    _add_row(run, mode, kind, concurrency, target, phase_row(result))
    standin.set_latency(0, 0)


async def run_all(run: Run) -> None:
    """Starts the servers one after another and measures each."""
    profile = run.profile
    context_tokens = profile.context_tokens if service_trims_context() else None
    if context_tokens is None:
        run.notes.append(
            "the service has no CONTEXT_TOKENS setting yet: it sends the whole history to the "
            "model, and so does the floor"
        )
    lex_env = {"CONTEXT_TOKENS": str(profile.context_tokens)}
    standin = StandIn(run.log_path("standin"))
    try:
        if profile.only_scale_out:
            await scale_out_phase(run, standin, lex_env)
            return
        floor = FloorClient.create(standin.base_url, context_tokens)
        await latency_phases(run, standin, "floor", lambda _http: floor, None)

        lex = start_lex(standin.base_url, run.work_dir / "lex.sqlite", run.log_path("lex"), lex_env)
        try:
            watch = RssWatch(lex.pid)
            await latency_phases(
                run, standin, "lex", lambda http: LexClient(http, lex.base_url, "bench"), watch
            )
            run.memory.append(
                {
                    "server": "lex",
                    "load": "latency phases (all modes)",
                    "peak_rss_bytes": max(watch.peak, peak_rss_bytes(lex.pid)),
                    "rss_at_start_bytes": None,
                }
            )
        finally:
            lex.stop()

        await long_session_phase(run, standin, lex_env)
        await memory_phase(run, standin, lex_env)
        if profile.langgraph_dev:
            await langgraph_dev_phase(run, standin)
        await scale_out_phase(run, standin, lex_env)
    finally:
        standin.stop()


async def scale_out_phase(run: Run, standin: StandIn, lex_env: dict[str, str]) -> None:
    """Throughput of 1, 2 and 4 workers on Postgres and Redis, beside SQLite and langgraph dev."""
    first_ms, tokens_per_s = MODES["realistic"]
    standin.set_latency(first_ms, tokens_per_s)
    try:
        run.scale_out = await scale_out_rows(
            standin,
            run.work_dir,
            lex_env,
            workers=run.profile.scale_out_workers,
            turns=run.profile.scale_out_turns,
            langgraph_dev_turns=(
                run.profile.scale_out_langgraph_dev_turns if run.profile.langgraph_dev else 0
            ),
            langgraph_dev_jobs=run.profile.langgraph_dev_jobs,
            log_path=run.log_path,
            notes=run.notes,
        )
    finally:
        standin.set_latency(0, 0)


async def long_session_phase(run: Run, standin: StandIn, lex_env: dict[str, str]) -> None:
    """The long session on a server with a fresh database, a second one beside it for reference."""
    database = run.work_dir / "long.sqlite"
    lex = start_lex(standin.base_url, database, run.log_path("lex-long"), lex_env)
    reference = None
    try:
        reference = start_lex(
            standin.base_url,
            run.work_dir / "reference.sqlite",
            run.log_path("lex-reference"),
            lex_env,
        )
        async with http_client(1) as http:
            client = LexClient(http, lex.base_url, "bench")
            beside = LexClient(http, reference.base_url, "bench")
            await warm_up(beside, "reference")
            replay = RequestReplay.create(standin.base_url)
            marks, timings, listing = await long_session(
                client,
                standin,
                replay,
                database,
                run.work_dir,
                turns=run.profile.long_turns,
                marks=run.profile.long_marks,
                alongside=beside,
            )
            same_server = await same_server_costs(
                client,
                standin,
                replay,
                run.work_dir,
                turns=min(SAME_SERVER_TURNS, run.profile.long_turns),
            )
        run.long = {
            "turns": run.profile.long_turns,
            "errors": sum(1 for t in timings if t.error is not None),
            "marks": [
                {
                    **asdict(m),
                    "storage_ratio": round(m.storage_ratio, 3),
                    "beyond_transcript_per_turn": round(m.beyond_transcript_per_turn),
                }
                for m in marks
            ],
            "listing_ms": asdict(listing),
            "same_server": asdict(same_server),
            "end_ms_per_turn": [round(t.end_s * 1000, 1) for t in timings],
        }
    finally:
        if reference is not None:
            reference.stop()
        lex.stop()


async def memory_phase(run: Run, standin: StandIn, lex_env: dict[str, str]) -> None:
    """The memory soak on a fresh server."""
    profile = run.profile
    lex = start_lex(
        standin.base_url, run.work_dir / "soak.sqlite", run.log_path("lex-soak"), lex_env
    )
    try:
        concurrency = max(profile.concurrencies)
        async with http_client(concurrency) as http:
            soak = await memory_soak(
                LexClient(http, lex.base_url, "soak"),
                lex.pid,
                turns=profile.memory_turns,
                sessions=profile.memory_sessions,
                concurrency=concurrency,
                prefix="s",
            )
        sessions = (
            f"{profile.memory_turns} turns, {profile.memory_sessions} sessions, c={concurrency}"
        )
        run.memory.append({"server": "lex", "load": sessions, **soak})
    finally:
        lex.stop()


async def langgraph_dev_phase(run: Run, standin: StandIn) -> None:
    """The latency phases against `langgraph dev` serving the Studio graph."""
    if langgraph_cli() is None:
        run.notes.append("langgraph dev skipped: pip install 'langgraph-cli[inmem]'")
        return
    dev: Child = start_langgraph_dev(
        standin.base_url,
        run.work_dir,
        run.log_path("langgraph-dev"),
        run.profile.langgraph_dev_jobs,
    )
    try:
        watch = RssWatch(dev.pid)
        await latency_phases(
            run,
            standin,
            "langgraph dev",
            lambda http: LangGraphDevClient(http, dev.base_url),
            watch,
        )
        run.memory.append(
            {
                "server": "langgraph dev",
                "load": "latency phases (all modes)",
                "peak_rss_bytes": watch.peak,
                "rss_at_start_bytes": None,
            }
        )
    finally:
        dev.stop()


def git_commit() -> str | None:
    """The checked-out commit, if this is a git work tree."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def results_of(run: Run) -> dict[str, Any]:
    """Everything measured, as the JSON report holds it."""
    results: dict[str, Any] = {
        "meta": {
            "profile": run.profile.name,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - run.started, 1),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "commit": git_commit(),
            "context_tokens": run.profile.context_tokens if service_trims_context() else None,
            "modes": {m: {"first_token_ms": f, "tokens_per_s": t} for m, (f, t) in MODES.items()},
            "notes": run.notes,
        },
        "overhead": run.overhead,
        "long_session": run.long,
        "memory": run.memory,
        "scale_out": run.scale_out,
    }
    results["targets"] = report.target_checks(results)
    return results


def write_results(results: dict[str, Any], out_dir: Path) -> Path:
    """Writes the JSON report (and the table beside it); returns the JSON file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"bench-{results['meta']['profile']}-{stamp}.json"
    text = json.dumps(results, indent=2)
    path.write_text(text)
    (out_dir / "latest.json").write_text(text)
    (out_dir / "latest.txt").write_text(report.render(results) + "\n")
    return path


def run_benchmark(profile: Profile, out_dir: Path) -> dict[str, Any]:
    """Runs the benchmark with `profile`; writes the reports to `out_dir`; returns the results."""
    with tempfile.TemporaryDirectory(prefix="lex-bench-") as work:
        run = Run(profile, out_dir, Path(work))
        asyncio.run(run_all(run))
        results = results_of(run)
    write_results(results, out_dir)
    return results
