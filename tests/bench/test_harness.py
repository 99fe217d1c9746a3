"""The benchmark harness: its arithmetic, its load driver, and a tiny end-to-end run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from bench import report
from bench.clients import FloorClient, RequestReplay, TurnKind, TurnTiming
from bench.load import always, every_fourth_tool, percentile, run_load
from bench.run import PROFILES, run_benchmark
from tests.support.groq_standin import GroqStandIn


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


class RecordingClient:
    """Records which sessions run at the same time."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.overlaps = 0
        self.turns: list[tuple[str, TurnKind]] = []

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        if session in self.running:
            self.overlaps += 1
        self.running.add(session)
        await asyncio.sleep(0.001)
        self.running.discard(session)
        self.turns.append((session, kind))
        return TurnTiming(first_chunk_s=0.001, end_s=0.002, error=None if kind == "plain" else "x")


async def test_load_runs_every_turn_without_two_at_once_on_a_session() -> None:
    client = RecordingClient()
    result = await run_load(
        client,
        turns=23,
        concurrency=5,
        session_prefix="p",
        turns_per_session=3,
        kind_of=every_fourth_tool,
    )
    assert len(result.timings) == 23
    assert client.overlaps == 0
    assert len({session for session, _ in client.turns}) == 10  # 5 customers, sessions of 3
    assert len(result.errors) == sum(1 for _, kind in client.turns if kind == "tool")
    assert result.turns_per_s > 0


async def test_a_single_kind_load() -> None:
    client = RecordingClient()
    result = await run_load(
        client,
        turns=4,
        concurrency=2,
        session_prefix="p",
        turns_per_session=10,
        kind_of=always("plain"),
    )
    assert [kind for _, kind in client.turns] == ["plain"] * 4
    assert result.errors == []


def overhead_row(target: str, turns_per_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "zero",
        "kind": "plain",
        "concurrency": extra.pop("concurrency", 50),
        "target": target,
        "turns_per_s": turns_per_s,
        **extra,
    }


def test_targets_are_checked_against_their_limits() -> None:
    results = {
        "long_session": {
            "turns": 1000,
            "marks": [
                {"turn": 10, "own_p50_ms": 8.0, "beyond_transcript_per_turn": 900},
                {
                    "turn": 1000,
                    "own_p50_ms": 12.0,
                    "reference_own_p50_ms": 10.0,
                    "beyond_transcript_per_turn": 1100,
                },
            ],
            "listing_ms": {"checkpoints_ms": 12.5, "transcript_ms": 60.0},
            "same_server": {
                "turns": 10,
                "errors": 0,
                "long_own_p50_ms": 11.0,
                "new_own_p50_ms": 10.0,
            },
        },
        "overhead": [
            overhead_row("lex", 1.0, concurrency=1, overhead_first_chunk_p50_ms=4.0),
            overhead_row("lex", 100.0),
            overhead_row("langgraph dev", 40.0),
        ],
    }
    checks = {c["name"]: c for c in report.target_checks(results)}
    storage = next(c for name, c in checks.items() if name.startswith("bytes per turn"))
    flat = next(
        c for name, c in checks.items() if name.startswith("Lex's own cost, turn 1000 / turn")
    )
    alongside = next(c for name, c in checks.items() if "new server alongside" in name)
    same_server = next(c for name, c in checks.items() if "on the same server" in name)
    listed = next(c for name, c in checks.items() if "checkpoints?limit=100" in name)
    transcript = next(c for name, c in checks.items() if "(transcript)" in name)
    first = next(c for name, c in checks.items() if name.startswith("first chunk"))
    throughput = next(c for name, c in checks.items() if name.startswith("throughput"))
    assert (storage["measured"], storage["met"]) == (1100, False)
    assert (flat["measured"], flat["met"]) == (1.5, False)
    assert (alongside["measured"], alongside["met"]) == (1.2, True)
    assert (same_server["measured"], same_server["met"]) == (1.1, True)
    assert (listed["measured"], listed["met"]) == (12.5, True)
    assert (transcript["measured"], transcript["met"]) == (60.0, False)
    assert (first["measured"], first["met"]) == (4.0, True)
    assert (throughput["measured"], throughput["met"]) == (2.5, True)


async def test_the_floor_replays_the_exact_request_it_is_given(groq_standin: GroqStandIn) -> None:
    floor = FloorClient.create(groq_standin.base_url, context_tokens=None)
    await floor.model.ainvoke([HumanMessage("What's the weather in Miami today?")])
    (sent,) = groq_standin.bodies
    await RequestReplay.create(groq_standin.base_url).seconds(dict(sent))
    assert groq_standin.bodies == [sent, sent]
    assert sent["tools"] and sent["messages"][0]["content"].startswith("What's the weather")


def test_a_tiny_run_measures_everything_against_real_servers(tmp_path: Path) -> None:
    results = run_benchmark(PROFILES["smoke"], tmp_path)

    rows = results["overhead"]
    assert {(r["target"], r["kind"], r["concurrency"]) for r in rows} == {
        (target, kind, c)
        for target in ("floor", "lex")
        for kind in ("plain", "tool")
        for c in (1, 2)
    }
    assert all(r["errors"] == 0 and r["turns"] == 2 for r in rows), rows
    lex = [r for r in rows if r["target"] == "lex"]
    assert all(
        r["first_chunk_p50_ms"] > 0 and r["end_p50_ms"] >= r["first_chunk_p50_ms"] for r in lex
    )
    assert all("overhead_end_p50_ms" in r for r in lex)

    marks = results["long_session"]["marks"]
    assert [m["turn"] for m in marks] == [2, 4]
    assert marks[1]["messages"] > marks[0]["messages"] > 0
    assert all(m["database_bytes"] > m["transcript_bytes"] > 0 for m in marks)
    assert all(m["floor_end_p50_ms"] > 0 and m["own_p50_ms"] is not None for m in marks)
    # Every window ran beside a new session on a second server.
    assert all(m["reference_own_p50_ms"] is not None for m in marks)
    assert results["long_session"]["errors"] == 0
    assert results["long_session"]["listing_ms"]["checkpoints_ms"] > 0
    same_server = results["long_session"]["same_server"]
    assert same_server["long_own_p50_ms"] is not None and same_server["new_own_p50_ms"] is not None
    assert same_server["errors"] == 0

    soak = next(m for m in results["memory"] if "sessions" in m["load"])
    assert soak["errors"] == 0 and soak["peak_rss_bytes"] > 10 * 2**20

    scale = results["scale_out"]  # read by the streaming client: both times found, no error
    assert ("sqlite, in-process", 1) in {(r["backend"], r["workers"]) for r in scale}
    assert all(r["errors"] == 0 and r["turns"] == 4 for r in scale), scale
    assert all(r["end_p50_ms"] >= r["first_chunk_p50_ms"] > 0 for r in scale), scale

    assert json.loads((tmp_path / "latest.json").read_text())["meta"]["profile"] == "smoke"
    table = (tmp_path / "latest.txt").read_text()
    assert "Targets" in table and "first chunk p50 over floor" in table
