"""Real PostgreSQL and Redis for tests: found once per run, isolated per test, cleaned up after.

Each engine is looked for in this order: `LEX_TEST_PG_URL` / `LEX_TEST_REDIS_URL`, the local
default port, else a throwaway server started from the installed binaries on a free port (stopped at
exit). A test asking for `postgres_url` gets a fresh schema of its own (the URL's `search_path`
points at it) and a test asking for `redis_url` gets a key prefix of its own (`redis_prefix`);
both are dropped afterwards, and nothing else on a shared server is ever touched.

When an engine cannot be found its tests are skipped and the run ends with one loud summary line,
except under `CI=true`, where a missing engine fails those tests instead: CI must never go green by
skipping.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

from tests.support.live_server import free_port

PG_URL_ENV = "LEX_TEST_PG_URL"
REDIS_URL_ENV = "LEX_TEST_REDIS_URL"
ENGINE_ENV = {"postgres": PG_URL_ENV, "redis": REDIS_URL_ENV}
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_TIMEOUT_S = 2
STARTUP_TIMEOUT_S = 20.0
SCHEMA_PREFIX = "lex_test_"
KEY_PREFIX = "lex-test:"

Probe = Callable[[str], str | None]
"""Returns None when the engine at a URL answers, else why not."""
Starter = Callable[[], tuple[str | None, str]]


@dataclass
class Engine:
    """Where one engine was found, or why it was not."""

    name: str
    url: str | None = None
    missing_reason: str = ""


def running_in_ci() -> bool:
    """Whether this run is CI's, where a missing engine fails instead of skipping."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_answers(url: str) -> str | None:
    """Returns None when `url` accepts a connection, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    return None


def _redis_answers(url: str) -> str | None:
    """Returns None when `url` answers PING, else why not."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        client.close()
    return None


def _wait_until(check: Probe, url: str) -> str | None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    reason: str | None = "did not start"
    while time.monotonic() < deadline:
        reason = check(url)
        if reason is None:
            return None
        time.sleep(0.1)
    return reason


def _throwaway_postgres() -> tuple[str | None, str]:
    """Starts a private PostgreSQL from the installed binaries; returns (url, why not)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "no initdb/pg_ctl on PATH"
    if os.geteuid() == 0:
        return None, "PostgreSQL's initdb refuses to run as root"
    data = Path(tempfile.mkdtemp(prefix="lex-test-pg-"))
    port = free_port()
    init = subprocess.run(
        [initdb, "-D", str(data), "-U", "postgres", "-A", "trust"],
        capture_output=True,
        check=False,
    )
    if init.returncode != 0:
        return None, f"initdb failed: {init.stderr.decode(errors='replace')[-200:]}"
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(data / "log"), "start"],
        capture_output=True,
        check=False,
    )
    atexit.register(
        lambda: (
            subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False),
            shutil.rmtree(data, ignore_errors=True),
        )
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    reason = _wait_until(_postgres_answers, url)
    return (url, "") if reason is None else (None, f"throwaway server: {reason}")


def _throwaway_redis() -> tuple[str | None, str]:
    """Starts a private Redis (no persistence) from the installed binary; returns (url, why not)."""
    binary = shutil.which("redis-server")
    if not binary:
        return None, "no redis-server on PATH"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    url = f"redis://127.0.0.1:{port}/0"
    reason = _wait_until(_redis_answers, url)
    return (url, "") if reason is None else (None, f"throwaway server: {reason}")


def _discover(name: str, env: str, default: str, answers: Probe, throwaway: Starter) -> Engine:
    engine = Engine(name)
    configured = os.environ.get(env)
    if configured:
        reason = answers(configured)
        if reason is None:
            engine.url = configured
        else:
            engine.missing_reason = f"{env}={configured} does not answer ({reason})"
        return engine
    if answers(default) is None:
        engine.url = default
        return engine
    url, reason = throwaway()
    engine.url = url
    engine.missing_reason = f"nothing on {default}, {reason}"
    return engine


_engines: dict[str, Engine] = {}


def _engine(name: str) -> Engine:
    if name not in _engines:
        if name == "postgres":
            _engines[name] = _discover(
                name, PG_URL_ENV, DEFAULT_PG_URL, _postgres_answers, _throwaway_postgres
            )
        else:
            _engines[name] = _discover(
                name, REDIS_URL_ENV, DEFAULT_REDIS_URL, _redis_answers, _throwaway_redis
            )
    return _engines[name]


def engine_url(name: str) -> str | None:
    """The URL of the "postgres" or "redis" server found (as the fixtures find it), or None."""
    return _engine(name).url


def _require(name: str, request: pytest.FixtureRequest) -> str:
    engine = _engine(name)
    if engine.url is not None:
        return engine.url
    message = f"{name} is not available: {engine.missing_reason}"
    if running_in_ci():
        pytest.fail(f"{message} (CI=true: a missing engine fails the run)", pytrace=False)
    pytest.skip(message)


def with_search_path(url: str, schema: str) -> str:
    """Returns `url` with its sessions' `search_path` set to `schema` (libpq `options`)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(scope="session")
def postgres_server_url(request: pytest.FixtureRequest) -> str:
    """The URL of the PostgreSQL server the suite uses (shared: never create tables through it)."""
    return _require("postgres", request)


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """Creates an empty schema; yields a URL whose `search_path` is it; drops it afterwards."""
    schema = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_search_path(server_url, schema)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose `search_path` is a new, empty schema, dropped after the test."""
    with fresh_schema(postgres_server_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url(request: pytest.FixtureRequest) -> str:
    """The URL of the Redis server the suite uses (shared: never flush it)."""
    return _require("redis", request)


@contextmanager
def fresh_key_prefix(server_url: str) -> Iterator[str]:
    """Yields a new key prefix; deletes every key under it afterwards (never anything else)."""
    prefix = f"{KEY_PREFIX}{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(server_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def redis_prefix(redis_server_url: str) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted after the test."""
    with fresh_key_prefix(redis_server_url) as prefix:
        yield prefix


@pytest.fixture
def redis_url(redis_server_url: str, redis_prefix: str) -> str:
    """The Redis URL for a test; keep every key under `redis_prefix`, which is cleaned up after."""
    return redis_server_url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Ends the run with one loud line per engine whose tests were skipped.

    Counted from the skip reports rather than from this process's state, so the line is printed
    by the process that writes the summary when the tests ran elsewhere (pytest-xdist workers).
    """
    reasons: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        message = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
        for name in ENGINE_ENV:
            marker = f"{name} is not available: "
            if marker in message:
                reasons.setdefault(name, []).append(message.split(marker, 1)[1])
    for name, skipped in reasons.items():
        terminalreporter.write_line(
            f"!!! {len(skipped)} tests SKIPPED: {name} not available ({skipped[0]}); "
            f"set {ENGINE_ENV[name]} or install it. Under CI=true these tests fail.",
            red=True,
            bold=True,
        )
