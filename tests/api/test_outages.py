"""A store that stops answering gives a quick 503 to retry; the service recovers when it is back.

Postgres and Redis are the suite's shared servers, reached through a forwarder the test switches
off and on (`tests/support/tcp_forwarder.py`): the server never stops and the port is never given
up. Bounds on waits are generous: they only show that the waits of psycopg_pool's defaults (30 s)
and of Redis timeouts retried three times (15 s) are gone.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import psycopg
import psycopg_pool
import pytest
import redis.exceptions
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from api.outages import install_outage_handlers
from api.turns.failures import STORE_MESSAGE
from checkpoints.postgres.pool import CHECK_AFTER_IDLE_S
from tests.support.app_server import ServerFactory
from tests.support.sse import parse_like_frontend
from tests.support.tcp_forwarder import TcpForwarder, tcp_forwarder

TURN = {"query": "What is the weather in Miami?", "session_id": "premium_client-1"}
OLD_WAIT_S = 15.0
"""Well under the 30 s a request used to wait for a Postgres that was down."""


def ask(base_url: str, session_id: str = "premium_client-1") -> httpx.Response:
    return httpx.post(f"{base_url}/query", json={**TURN, "session_id": session_id}, timeout=60)


def timed_ask(base_url: str, session_id: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = ask(base_url, session_id)
    return response, time.monotonic() - started


def completed(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.text.rstrip().endswith("event: end\ndata:")


@contextmanager
def lex_behind_forwarded_redis(
    lex_server: ServerFactory, redis_server_url: str, redis_prefix: str
) -> Iterator[tuple[TcpForwarder, str]]:
    """A Lex server whose Redis is reached through a forwarder the test can drop or hold."""
    with (
        tcp_forwarder(redis_server_url) as redis_port,
        lex_server(
            redis_url=redis_port.url(redis_server_url), redis_key_prefix=redis_prefix
        ) as base_url,
    ):
        yield redis_port, base_url


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_postgres_going_away_gives_a_quick_503_and_the_next_request_once_back_works(
    lex_server: ServerFactory, postgres_url: str
) -> None:
    with (
        tcp_forwarder(postgres_url) as postgres,
        lex_server(database_url=postgres.url(postgres_url)) as base_url,
    ):
        assert completed(ask(base_url))
        postgres.drop()
        # Past the moment in which a connection just used is handed out unchecked (and fails at
        # once): this request finds no connection and waits for one.
        time.sleep(2 * CHECK_AFTER_IDLE_S)
        down, waited = timed_ask(base_url, "premium_client-2")
        postgres.forward()
        back = ask(base_url, "premium_client-3")

    assert_unavailable(down)
    assert waited < OLD_WAIT_S
    assert completed(back)


def test_after_postgres_restarts_the_first_request_works(
    lex_server: ServerFactory, postgres_url: str
) -> None:
    with (
        tcp_forwarder(postgres_url) as postgres,
        lex_server(database_url=postgres.url(postgres_url)) as base_url,
    ):
        with ThreadPoolExecutor(6) as pool:  # several turns at once: several pooled connections
            assert all(map(completed, pool.map(ask, [base_url] * 6, [f"s-{i}" for i in range(6)])))
        postgres.drop()  # every connection closed, no request meanwhile, then back
        postgres.forward()
        time.sleep(2 * CHECK_AFTER_IDLE_S)
        first, waited = timed_ask(base_url, "premium_client-2")

    assert completed(first), first.text
    assert waited < OLD_WAIT_S


def test_postgres_going_away_mid_turn_ends_the_stream_with_a_retryable_error_soon(
    lex_server: ServerFactory, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with (
        tcp_forwarder(postgres_url) as postgres,
        lex_server(database_url=postgres.url(postgres_url), simulated_weather_delay_s=1) as base,
    ):
        body = ""
        with httpx.stream("POST", f"{base}/query", json=TURN, timeout=60) as response:
            for line in response.iter_lines():
                body += line + "\n"
                if line == "event: tool_use":
                    postgres.drop()  # while the weather is looked up
                    dropped_at = time.monotonic()
        to_end = time.monotonic() - dropped_at
        postgres.forward()
        next_turn = ask(base)

    messages = parse_like_frontend(body)
    assert [m.event for m in messages][:2] == ["tool_use", "tool_output"]
    assert messages[-1].event == "end"  # last, as the chat page needs
    assert STORE_MESSAGE in "".join(m.data for m in messages if m.event == "chunk")
    [error] = [httpx.Response(200, content=m.data).json() for m in messages if m.event == "error"]
    assert error["code"] == "service_unavailable" and error["retryable"] is True
    assert to_end < 25  # it was 30 s to the error, then 30 s more to `end`

    ours = [record for record in caplog.records if record.name.startswith("api.")]
    assert not [record for record in ours if record.exc_info], "no traceback for an outage"
    failed = [r.getMessage() for r in ours if r.getMessage().startswith("turn failed")]
    assert len(failed) == 1 and "code=service_unavailable" in failed[0]
    repair = [r for r in ours if r.getMessage().startswith("could not repair")]
    assert len(repair) == 1 and repair[0].levelno == logging.WARNING
    assert "Postgres did not answer" in repair[0].getMessage()

    assert completed(next_turn)  # the session keeps working


def test_redis_going_away_gives_503_with_retry_after_and_the_service_recovers(
    lex_server: ServerFactory, redis_server_url: str, redis_prefix: str
) -> None:
    with lex_behind_forwarded_redis(lex_server, redis_server_url, redis_prefix) as (
        redis_port,
        base_url,
    ):
        assert completed(ask(base_url))
        redis_port.drop()
        down = ask(base_url, "premium_client-2")
        health = httpx.get(f"{base_url}/health", timeout=30)
        redis_port.forward()
        back = ask(base_url, "premium_client-3")

    assert_unavailable(down)
    assert health.status_code == 503 and int(health.headers["Retry-After"]) > 0
    assert health.json() == {"status": "unhealthy", "offline": True}  # nothing more to strangers
    assert completed(back)


def test_a_redis_that_hangs_holds_a_request_for_one_timeout_not_three(
    lex_server: ServerFactory, redis_server_url: str, redis_prefix: str
) -> None:
    with lex_behind_forwarded_redis(lex_server, redis_server_url, redis_prefix) as (
        redis_port,
        base_url,
    ):
        assert completed(ask(base_url))
        redis_port.hold()
        hung, waited = timed_ask(base_url, "premium_client-2")
        redis_port.forward()
        back = ask(base_url, "premium_client-3")

    assert_unavailable(hung)
    assert waited < 10  # three 5 s timeouts before (tests/api/test_redis_connections.py counts)
    assert completed(back)


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), 503),
        (psycopg_pool.PoolTimeout("couldn't get a connection after 5.00 sec"), 503),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), 503),
        (redis.exceptions.ConnectionError("Connection refused"), 503),
        (sqlite3.OperationalError("database is locked"), 503),
        (sqlite3.OperationalError("no such table: sessions"), 500),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), 503),
        (psycopg.errors.TooManyConnections("sorry, too many clients already"), 503),
        (psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"), 500),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), 500),
        (redis.exceptions.AuthenticationError("invalid username-password pair"), 500),
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
