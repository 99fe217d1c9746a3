"""The scale-out row: throughput at concurrency 50 of 1, 2 and 4 workers on Postgres and Redis.

Beside them, in the same run and under the same load (realistic stand-in latency, tool turns):
one worker on SQLite with in-process coordination (the default), and `langgraph dev`. Postgres and
Redis are found the way the test suite finds them (`tests/support/engines.py`); each target gets a
fresh schema and key prefix, dropped afterwards.

The load comes from `StreamingLexClient`, which reads the same streams as `LexClient` at a fifth of
its CPU: on two cores the client shares the CPUs with what it measures, and with httpx it took
about a tenth of the CPU a turn costs, which the workers then did not have.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.clients import LangGraphDevClient, StreamingLexClient, TurnClient
from bench.processes import Child, StandIn, langgraph_cli, start_langgraph_dev, start_lex
from bench.scenarios import http_client, overhead_phase, phase_row, warm_up
from tests.support.engines import engine_url, fresh_key_prefix, fresh_schema

logger = logging.getLogger(__name__)

SCALE_OUT_CONCURRENCY = 50
SCALE_OUT_MODE = "realistic"
SCALE_OUT_KIND = "tool"
SQLITE = "sqlite, in-process"
POSTGRES_REDIS = "postgres + redis"
LANGGRAPH_DEV = "langgraph dev"


@contextmanager
def shared_engines(postgres: str, redis: str) -> Iterator[dict[str, str]]:
    """A fresh schema and key prefix, as Lex settings."""
    with fresh_schema(postgres) as database_url, fresh_key_prefix(redis) as prefix:
        yield {"DATABASE_URL": database_url, "REDIS_URL": redis, "REDIS_KEY_PREFIX": prefix}


async def measure(client: TurnClient, label: str, turns: int) -> dict[str, Any]:
    """Warms the target up, then runs `turns` tool turns at concurrency 50."""
    prefix = label.replace(" ", "_").replace(",", "").replace("+", "")
    await warm_up(client, f"scale-{prefix}")
    result = await overhead_phase(
        client,
        kind=SCALE_OUT_KIND,
        concurrency=SCALE_OUT_CONCURRENCY,
        turns=turns,
        prefix=f"scale-{prefix}",
    )
    return phase_row(result)


async def measure_lex(
    standin: StandIn, work: Any, env: dict[str, str], workers: int, turns: int, log: Any
) -> dict[str, Any]:
    """Starts Lex with `workers` workers, measures it, stops it."""
    lex: Child = start_lex(
        standin.base_url, work / f"lex-{workers}.sqlite", log, env, workers=workers
    )
    try:
        client = StreamingLexClient(lex.base_url, "bench")
        try:
            return await measure(client, f"lex-{workers}", turns)
        finally:
            client.close()
    finally:
        lex.stop()


async def scale_out_rows(
    standin: StandIn,
    work: Any,
    lex_env: dict[str, str],
    *,
    workers: tuple[int, ...],
    turns: int,
    langgraph_dev_turns: int,
    langgraph_dev_jobs: int,
    log_path: Any,
    notes: list[str],
) -> list[dict[str, Any]]:
    """Every row of the scale-out table; targets that cannot run are left out with a note."""
    rows: list[dict[str, Any]] = []
    common = {"mode": SCALE_OUT_MODE, "kind": SCALE_OUT_KIND, "concurrency": SCALE_OUT_CONCURRENCY}
    row = await measure_lex(standin, work, {**lex_env}, 1, turns, log_path("scale-lex-sqlite-1"))
    rows.append({**common, "backend": SQLITE, "workers": 1, **row})
    postgres, redis = engine_url("postgres"), engine_url("redis")
    if postgres is None or redis is None:
        notes.append("scale-out on Postgres and Redis skipped: no PostgreSQL or Redis found")
    else:
        for count in workers:
            with ExitStack() as stack:
                engines = stack.enter_context(shared_engines(postgres, redis))
                env = {**lex_env, **engines, "WORKERS": str(count)}
                row = await measure_lex(
                    standin, work, env, count, turns, log_path(f"scale-lex-pg-{count}")
                )
            rows.append({**common, "backend": POSTGRES_REDIS, "workers": count, **row})
    if langgraph_dev_turns and langgraph_cli() is not None:
        dev = start_langgraph_dev(
            standin.base_url, work, log_path("scale-langgraph-dev"), langgraph_dev_jobs
        )
        try:
            async with http_client(SCALE_OUT_CONCURRENCY) as http:
                row = await measure(
                    LangGraphDevClient(http, dev.base_url), LANGGRAPH_DEV, langgraph_dev_turns
                )
        finally:
            dev.stop()
        rows.append({**common, "backend": LANGGRAPH_DEV, "workers": 1, **row})
    base = next((r for r in rows if r["backend"] == POSTGRES_REDIS and r["workers"] == 1), None)
    for row in rows:
        if base and base.get("turns_per_s") and row.get("turns_per_s") is not None:
            row["vs_one_worker"] = round(row["turns_per_s"] / base["turns_per_s"], 2)
        logger.info("%s", row)
    return rows
