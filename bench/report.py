"""Turns the benchmark's results into the printed table and the checks against the targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIB = 1024 * 1024

OVERHEAD_COLUMNS = (
    ("mode", "mode", 9),
    ("kind", "kind", 5),
    ("c", "concurrency", 3),
    ("target", "target", 13),
    ("turns", "turns", 5),
    ("first p50", "first_chunk_p50_ms", 9),
    ("first p99", "first_chunk_p99_ms", 9),
    ("end p50", "end_p50_ms", 8),
    ("end p99", "end_p99_ms", 8),
    ("+first p50", "overhead_first_chunk_p50_ms", 10),
    ("+end p50", "overhead_end_p50_ms", 8),
    ("turns/s", "turns_per_s", 7),
    ("err", "errors", 3),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def table(headers: Sequence[str], widths: Sequence[int], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with right-aligned cells."""

    def line(cells: Sequence[str]) -> str:
        first, *rest = zip(cells, widths, strict=True)
        return " ".join([first[0].ljust(first[1]), *(c.rjust(w) for c, w in rest)])

    lines = [line(headers), " ".join("-" * w for w in widths)]
    lines += [line([_cell(v) for v in row]) for row in rows]
    return "\n".join(lines)


def overhead_table(rows: Sequence[dict[str, Any]]) -> str:
    """Latency per target, mode, kind and concurrency, with the overhead over the floor."""
    headers = [h for h, _, _ in OVERHEAD_COLUMNS]
    widths = [max(w, len(h)) for h, _, w in OVERHEAD_COLUMNS]
    cells = [[row.get(key) for _, key, _ in OVERHEAD_COLUMNS] for row in rows]
    return table(headers, widths, cells)


def long_session_table(marks: Sequence[dict[str, Any]]) -> str:
    """Latency and storage of the long session at each mark."""
    headers = [
        "turn",
        "Lex end p50",
        "floor (same request)",
        "Lex own",
        "own, new session on a new server",
        "beyond transcript B/turn",
        "db MiB",
        "transcript MiB",
        "db/transcript",
    ]
    widths = [5, 11, 20, 7, 32, 24, 7, 14, 13]
    rows = [
        [
            m["turn"],
            m["end_p50_ms"],
            m["floor_end_p50_ms"],
            m.get("own_p50_ms"),
            m.get("reference_own_p50_ms"),
            m.get("beyond_transcript_per_turn"),
            round(m["database_bytes"] / MIB, 2),
            round(m["transcript_bytes"] / MIB, 3),
            round(m["storage_ratio"], 2),
        ]
        for m in marks
    ]
    return table(headers, widths, rows)


def memory_table(entries: Sequence[dict[str, Any]]) -> str:
    """Peak memory of each server over its load."""
    headers = ["server", "load", "turns/s", "RSS start MiB", "peak RSS MiB", "err"]
    widths = [14, 34, 7, 13, 12, 4]
    rows = [
        [
            e["server"],
            e["load"],
            e.get("turns_per_s"),
            round(e["rss_at_start_bytes"] / MIB, 1) if e.get("rss_at_start_bytes") else None,
            round(e["peak_rss_bytes"] / MIB, 1),
            e.get("errors"),
        ]
        for e in entries
    ]
    return table(headers, widths, rows)


def scale_out_table(rows: Sequence[dict[str, Any]]) -> str:
    """Throughput of each backend and worker count under the same load."""
    headers = ["backend", "workers", "turns", "errors", "turns/s", "vs 1 worker", "end p50 ms"]
    widths = [20, 7, 6, 6, 8, 11, 10]
    body = [
        [
            r["backend"],
            r["workers"],
            r["turns"],
            r["errors"],
            r.get("turns_per_s"),
            r.get("vs_one_worker"),
            r.get("end_p50_ms"),
        ]
        for r in rows
    ]
    return table(headers, widths, body)


def targets_table(checks: Sequence[dict[str, Any]]) -> str:
    """Each target, what was measured and whether it is met."""
    headers = ["target", "measured", "limit", "met"]
    widths = [58, 10, 10, 4]
    rows = [
        [c["name"], _exact(c["measured"]), _exact(c["limit"]), "yes" if c["met"] else "NO"]
        for c in checks
    ]
    return table(headers, widths, rows)


def _exact(value: float | None) -> str:
    """A checked value as measured (to two decimals): 1.21 must not read as the limit 1.2."""
    return "-" if value is None else f"{value:g}"


def check(
    name: str, measured: float | None, limit: float, *, at_most: bool = True
) -> dict[str, Any]:
    """One target: met when `measured` is at most (or at least) `limit`."""
    met = measured is not None and (measured <= limit if at_most else measured >= limit)
    value = None if measured is None else round(measured, 2)
    return {"name": name, "measured": value, "limit": limit, "met": met}


def _find(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def target_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, checked against the results."""
    checks: list[dict[str, Any]] = []
    long = results.get("long_session", {})
    marks = long.get("marks", [])
    if marks:
        last, first = marks[-1], marks[0]
        checks.append(
            check(
                f"bytes per turn beyond the transcript after {last['turn']} turns (<= 1 KiB)",
                last.get("beyond_transcript_per_turn"),
                1024.0,
            )
        )
        if last.get("own_p50_ms") and first.get("own_p50_ms"):
            checks.append(
                check(
                    f"Lex's own cost, turn {last['turn']} / turn {first['turn']} (<= 1.2x)",
                    last["own_p50_ms"] / first["own_p50_ms"],
                    1.2,
                )
            )
        same = long.get("same_server")
        if same:
            long_own, new_own = same.get("long_own_p50_ms"), same.get("new_own_p50_ms")
            checks.append(
                check(
                    f"Lex's own cost after turn {last['turn']} / a new session on the same "
                    "server, turns interleaved (<= 1.2x)",
                    long_own / new_own if long_own and new_own else None,
                    1.2,
                )
            )
        if last.get("own_p50_ms") and last.get("reference_own_p50_ms"):
            checks.append(
                check(
                    f"Lex's own cost, turn {last['turn']} / turns 1-{first['turn']} of a new "
                    "session on a new server alongside (<= 1.2x)",
                    last["own_p50_ms"] / last["reference_own_p50_ms"],
                    1.2,
                )
            )
    listing = long.get("listing_ms")
    if listing:
        turns = long["turns"]
        checks.append(
            check(
                f"GET /sessions/{{id}}/checkpoints?limit=100 at {turns} turns (ms, <= 50)",
                listing["checkpoints_ms"],
                50.0,
            )
        )
        checks.append(
            check(
                f"GET /sessions/{{id}} (transcript) at {turns} turns (ms, <= 50)",
                listing["transcript_ms"],
                50.0,
            )
        )
    rows = results.get("overhead", [])
    for row in rows:
        if row["target"] == "lex" and row["concurrency"] == 1:
            checks.append(
                check(
                    f"first chunk p50 over floor, c=1, {row['mode']} {row['kind']} (ms, <= 10)",
                    row.get("overhead_first_chunk_p50_ms"),
                    10.0,
                )
            )
    top = max((r["concurrency"] for r in rows), default=0)
    for row in rows:
        if row["target"] != "lex" or row["concurrency"] != top:
            continue
        other = _find(
            rows, target="langgraph dev", mode=row["mode"], kind=row["kind"], concurrency=top
        )
        if other and other.get("turns_per_s"):
            checks.append(
                check(
                    f"throughput c={top} vs langgraph dev, {row['mode']} {row['kind']} (>= 2x)",
                    row["turns_per_s"] / other["turns_per_s"],
                    2.0,
                    at_most=False,
                )
            )
    scale = results.get("scale_out", [])
    two = _find(scale, backend="postgres + redis", workers=2)
    if two is not None:
        checks.append(
            check(
                "throughput of 2 workers / 1 worker on Postgres + Redis (>= 1.6x)",
                two.get("vs_one_worker"),
                1.6,
                at_most=False,
            )
        )
    return checks


def render(results: dict[str, Any]) -> str:
    """The whole report as text."""
    meta = results["meta"]
    parts = [
        f"Lex benchmark, profile {meta['profile']}: {meta['duration_s']:.0f} s on "
        f"{meta['cpus']} CPUs, context budget {meta['context_tokens'] or 'none'}",
        "",
    ]
    if results["overhead"]:
        parts += [
            "1-2. Latency per turn (ms) and throughput; +first/+end = over the floor (direct "
            "ChatGroq)",
            overhead_table(results["overhead"]),
        ]
    long = results.get("long_session")
    if long:
        parts += [
            "",
            f"3. One long session ({long['turns']} turns)",
            long_session_table(long["marks"]),
        ]
        listing = long.get("listing_ms")
        if listing:
            parts.append(
                f"listings at turn {long['turns']}: checkpoints?limit=100 "
                f"{listing['checkpoints_ms']} ms, transcript {listing['transcript_ms']} ms"
            )
        same = long.get("same_server")
        if same:
            parts.append(
                f"then {same['turns']} plain turns each, interleaved on the same server: "
                f"Lex own {same['long_own_p50_ms']} ms for the long session, "
                f"{same['new_own_p50_ms']} ms for a new session ({same['errors']} errors)"
            )
    if results.get("memory"):
        parts += ["", "4-5. Server memory", memory_table(results["memory"])]
    scale = results.get("scale_out")
    if scale:
        first = scale[0]
        parts += [
            "",
            f"6. Scale-out: throughput at concurrency {first['concurrency']}, {first['mode']} "
            f"{first['kind']} turns; vs 1 worker = over one worker on Postgres + Redis",
            scale_out_table(scale),
        ]
    parts += ["", "Targets", targets_table(results["targets"])]
    for note in meta.get("notes", []):
        parts.append(f"note: {note}")
    return "\n".join(parts)
