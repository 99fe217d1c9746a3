"""Metrics with several worker processes: any worker's `/metrics` counts every worker's turns.

`uvicorn --workers 2` with `PROMETHEUS_MULTIPROC_DIR` set, as an operator runs it; turns land on
whichever worker accepts the connection, and every scrape must show all of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.metrics import scrape

WORKERS = 2
TURNS = 8
STARTUP_TIMEOUT_S = 60


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "METRICS_ENABLED": "true",
        "MODEL_PROVIDER": "offline",
        "GROQ_API_KEY": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lex.sqlite'}",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(WORKERS)]
    process = subprocess.Popen(command, cwd=tmp_path, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn with two workers did not start")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
