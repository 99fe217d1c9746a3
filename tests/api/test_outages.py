"""A store that stops answering gives a 503 to retry, and the service recovers when it is back."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import psycopg_pool
import pytest
import redis
import redis.exceptions
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from api.outages import install_outage_handlers
from tests.support.app_server import ServerFactory
from tests.support.engines import running_in_ci
from tests.support.live_server import free_port

TURN = {"query": "What is the weather in Miami?", "session_id": "premium_client-1"}


@contextmanager
def private_redis(port: int) -> Iterator[str]:
    """A Redis of this test's own (it is stopped mid-test, so never the shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if running_in_ci():
            pytest.fail("redis-server is not installed (CI=true: a missing engine fails the run)")
        pytest.skip("redis is not available: no redis-server on PATH")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_going_away_gives_503_with_retry_after_and_the_service_recovers(
    lex_server: ServerFactory,
) -> None:
    port = free_port()
    with private_redis(port) as redis_url, lex_server(redis_url=redis_url) as base_url:
        assert httpx.post(f"{base_url}/query", json=TURN, timeout=30).status_code == 200
        redis.Redis.from_url(redis_url).shutdown(nosave=True)
        down = httpx.post(f"{base_url}/query", json=TURN, timeout=30)
        with private_redis(port):
            back = httpx.post(f"{base_url}/query", json=TURN, timeout=30)

    assert down.status_code == 503
    assert down.json()["error"]["code"] == "service_unavailable"
    assert int(down.headers["Retry-After"]) > 0
    assert back.status_code == 200 and back.text.rstrip().endswith("event: end\ndata:")


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), 503),
        (psycopg_pool.PoolTimeout("couldn't get a connection after 30.00 sec"), 503),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), 503),
        (sqlite3.OperationalError("database is locked"), 503),
        (sqlite3.OperationalError("no such table: sessions"), 500),
    ],
)
def test_each_store_outage_is_a_503_and_a_fault_of_ours_stays_a_500(
    failure: Exception, status: int
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    install_outage_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise failure

    response = TestClient(app, raise_server_exceptions=False).get("/fails")
    assert response.status_code == status
    expected = "service_unavailable" if status == 503 else "internal_error"
    assert response.json()["error"]["code"] == expected
    assert ("Retry-After" in response.headers) is (status == 503)
