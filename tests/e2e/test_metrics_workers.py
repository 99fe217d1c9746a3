"""Metrics with several worker processes: any worker's `/metrics` counts every worker's turns.

`python -m api.serve --workers 2` on shared Postgres and Redis (several workers need both), with
`PROMETHEUS_MULTIPROC_DIR` set, as an operator runs it; turns land on whichever worker accepts the
connection, and every scrape must show all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.lex_process import spawn
from tests.support.metrics import scrape

WORKERS = 2
TURNS = 8


@pytest.fixture
def two_workers(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str
) -> Iterator[str]:
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    settings = {
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "METRICS_ENABLED": "true",
        "DATABASE_URL": postgres_url,
        "DATABASE_POOL_SIZE": "2",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        "WORKERS": str(WORKERS),
    }
    process = spawn("workers", tmp_path, settings, serve_args=("--workers", str(WORKERS)))
    try:
        process.wait_healthy()
        yield process.url
    finally:
        process.stop()


def test_every_scrape_counts_the_turns_of_every_worker(two_workers: str) -> None:
    for index in range(TURNS):
        # A fresh connection each time, so the turns spread over the workers.
        response = httpx.post(
            f"{two_workers}/query",
            json={"query": "hello", "session_id": f"workers-{index}"},
            timeout=30,
        )
        assert response.status_code == 200

    for _ in range(6):
        scraped = scrape(two_workers)
        assert scraped.total("lex_turns_total", outcome="completed") == TURNS
        assert scraped.total("lex_turn_seconds_count") == TURNS
        assert scraped.total("lex_http_requests_total", route="/query") == TURNS
        assert scraped.value("lex_turns_running") == 0
