"""Several Lex processes sharing Postgres and Redis, on real sockets: one service, any replica.

Processes A and B refuse a second message for a busy session (409); C enqueues it. nginx, from
Debian's package, sits in front where the proxy matters. Every process
runs the offline model with a pause between tokens, so a turn lasts long enough to rejoin, refuse,
queue or stop it from another process. A process killed mid-tool-call runs a slow simulated weather
(`SIMULATED_WEATHER_DELAY_S`). The process killed mid-turn holds a short lease
(`TURN_LEASE_S`) so its loss is noticed quickly; the others keep the default 3 s, which a busy
test machine's scheduling delays do not eat up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from uvicorn.config import STARTUP_FAILURE

from agent.repair import INTERRUPTED_TOOL_RESULT
from api.worker_sockets import reuse_port_spreads
from tests.support.app_server import OPERATOR
from tests.support.engines import fresh_key_prefix, fresh_schema
from tests.support.lex_process import SERVE_COMMAND, LexProcess, lex_env, lex_processes, spawn
from tests.support.live_server import free_port
from tests.support.nginx import nginx_in_front
from tests.support.proc_sockets import ESTABLISHED, LISTEN, held, tcp_inodes, worker_pids
from tests.support.sse import SseEvent, parse_sse

LEASE_S = 1.0
"""The lease of the process that is killed: how soon its followers must hear of it."""
TOKEN_DELAY_S = "0.04"
WEATHER = "What's the weather in Miami?"
ADDRESS = "What is the address of the Miami dealership?"
TWO_TUESDAYS_AHEAD = date.today() + timedelta(days=14 + (1 - date.today().weekday()) % 7)
BOOK_GT = f"Book a test drive of the SuperCar GT at Miami on {TWO_TUESDAYS_AHEAD} at 10:00"
JSON = {"stream_format": "json"}


def shared_settings(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": "4",
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "OFFLINE_TOKEN_DELAY_S": TOKEN_DELAY_S,
        "SHUTDOWN_GRACE_S": "1",
    }


@pytest.fixture(scope="module")
def shared_engines(postgres_server_url: str, redis_server_url: str) -> Iterator[dict[str, str]]:
    """One schema and one key prefix for the module's processes."""
    with (
        fresh_schema(postgres_server_url) as database_url,
        fresh_key_prefix(redis_server_url) as prefix,
    ):
        yield shared_settings(database_url, redis_server_url, prefix)


@pytest.fixture(scope="module")
def cluster(
    shared_engines: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, LexProcess]]:
    """Processes A and B (ON_BUSY=reject) and C (ON_BUSY=enqueue), started together."""
    with lex_processes(
        tmp_path_factory.mktemp("cluster"),
        shared_engines,
        ("a", "b", "c"),
        c={"ON_BUSY": "enqueue"},
    ) as processes:
        yield processes


def new_session() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


def blocks(response: httpx.Response) -> Iterator[SseEvent]:
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            yield from parse_sse(block + "\n\n")


@contextmanager
def open_stream(
    method: str, url: str, *, headers: dict[str, str] | None = None, **body: Any
) -> Iterator[Iterator[SseEvent]]:
    """Opens an SSE request and yields its events as they arrive."""
    with (
        httpx.Client(timeout=30) as client,
        client.stream(
            method,
            url,
            json=body or None,
            params=JSON if method == "GET" else None,
            headers={**OPERATOR, **(headers or {})},
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        yield blocks(response)


def post_query(process: LexProcess, query: str, session_id: str) -> list[SseEvent]:
    response = httpx.post(
        f"{process.url}/query",
        headers=OPERATOR,
        json={"query": query, "session_id": session_id, **JSON},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def rejoin(process: LexProcess, session_id: str) -> list[SseEvent]:
    response = httpx.get(
        f"{process.url}/sessions/{session_id}/stream", headers=OPERATOR, params=JSON, timeout=30
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def answer(events: list[SseEvent]) -> str:
    return "".join(e.json()["text"] for e in events if e.event == "chunk")


def sequence(event: SseEvent) -> int:
    assert event.id is not None
    return int(event.id.rpartition(":")[2])


def transcript_queries(process: LexProcess, session_id: str) -> list[str]:
    detail = httpx.get(f"{process.url}/sessions/{session_id}", headers=OPERATOR, timeout=10).json()
    return [m["text"] for m in detail["messages"] if m["role"] == "user"]


def test_rejoin_on_b_with_last_event_id_gets_every_missed_event_once_in_order(
    cluster: dict[str, LexProcess],
) -> None:
    a, b = cluster["a"], cluster["b"]
    session = new_session()
    with open_stream("POST", f"{a.url}/query", query=WEATHER, session_id=session, **JSON) as live:
        seen = [next(live) for _ in range(3)]  # tool_use, tool_output, first chunk
    assert seen[-1].id is not None
    with open_stream(
        "GET",
        f"{b.url}/sessions/{session}/stream",
        headers={"Last-Event-ID": seen[-1].id},
    ) as rest_stream:
        rest = list(rest_stream)
    whole = rejoin(a, session)  # everything, from A's memory

    assert [e.event for e in seen[:2]] == ["tool_use", "tool_output"]
    assert rest[-1].event == "end" and rest[-1].json()["status"] == "completed"
    got = seen + rest
    assert [sequence(e) for e in got] == list(range(len(got)))
    assert [(e.id, e.event, e.data) for e in got] == [(e.id, e.event, e.data) for e in whole]


def test_a_second_message_on_b_while_a_answers_is_refused(
    cluster: dict[str, LexProcess],
) -> None:
    a, b = cluster["a"], cluster["b"]
    session = new_session()
    with open_stream("POST", f"{a.url}/query", query=WEATHER, session_id=session, **JSON) as live:
        next(live)
        busy = httpx.post(
            f"{b.url}/query",
            headers=OPERATOR,
            json={"query": ADDRESS, "session_id": session},
            timeout=10,
        )
        rest = list(live)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "session_busy"
    assert busy.headers["Retry-After"]
    assert rest[-1].event == "end" and rest[-1].json()["status"] == "completed"
    assert post_query(b, ADDRESS, session)[-1].json()["status"] == "completed"
    assert transcript_queries(b, session) == [WEATHER, ADDRESS]


def test_messages_enqueued_on_c_while_a_answers_run_in_order(
    cluster: dict[str, LexProcess],
) -> None:
    a, c = cluster["a"], cluster["c"]
    session = new_session()
    with (
        open_stream("POST", f"{a.url}/query", query=WEATHER, session_id=session, **JSON) as first,
    ):
        next(first)  # A is answering
        # Each response starts once its turn is queued, so the queue order is the sending order.
        with (
            open_stream(
                "POST", f"{c.url}/query", query=ADDRESS, session_id=session, **JSON
            ) as second,
            open_stream(
                "POST", f"{c.url}/query", query="Thanks!", session_id=session, **JSON
            ) as third,
        ):
            ends = [list(stream)[-1] for stream in (first, second, third)]
    assert [e.json()["status"] for e in ends] == ["completed"] * 3
    assert transcript_queries(c, session) == [WEATHER, ADDRESS, "Thanks!"]


def test_cancel_on_b_ends_the_stream_on_a_within_a_second_with_a_repaired_history(
    cluster: dict[str, LexProcess],
) -> None:
    a, b = cluster["a"], cluster["b"]
    session = new_session()
    with open_stream("POST", f"{a.url}/query", query=WEATHER, session_id=session, **JSON) as live:
        before = [next(live) for _ in range(3)]
        asked = time.monotonic()
        cancelled = httpx.post(f"{b.url}/sessions/{session}/cancel", headers=OPERATOR, timeout=10)
        rest = list(live)
        took = time.monotonic() - asked
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    assert rest[-1].event == "end" and rest[-1].json()["status"] == "cancelled"
    assert took < 1.0, f"the stream on A ended {took:.2f} s after the stop on B"
    shown = answer(before + rest)
    detail = httpx.get(f"{b.url}/sessions/{session}", headers=OPERATOR, timeout=10).json()
    roles = [m["role"] for m in detail["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert detail["messages"][-1]["text"] == shown.strip()
    assert post_query(b, ADDRESS, session)[-1].json()["status"] == "completed"


def kill_while_followed(
    victim: LexProcess, follower_on: LexProcess, session: str, before_kill: Iterator[None]
) -> tuple[list[SseEvent], float]:
    """Kills `victim` once `before_kill` is exhausted, while `follower_on` follows the turn.

    Returns the follower's events and how long after the kill its `end` came.
    """
    follower_events: list[SseEvent] = []

    def follow() -> None:
        follower_events.extend(rejoin(follower_on, session))

    follower = threading.Thread(target=follow)
    follower.start()
    for _ in before_kill:
        pass
    victim.kill()
    killed = time.monotonic()
    follower.join(timeout=LEASE_S + 5)
    noticed = time.monotonic() - killed
    assert not follower.is_alive()
    return follower_events, noticed


def assert_closed_as_lost(follower_events: list[SseEvent], noticed: float) -> None:
    assert noticed < LEASE_S + 2, f"followers got end {noticed:.2f} s after the kill"
    error = next(e for e in follower_events if e.event == "error").json()
    assert error["code"] == "replica_lost" and error["retryable"] is True
    end = follower_events[-1]
    assert end.event == "end" and end.json()["status"] == "error"
    ids = [sequence(e) for e in follower_events]
    assert ids == list(range(len(ids)))  # every event once, in order, the closing ones last


def pause(seconds: float) -> Iterator[None]:
    time.sleep(seconds)
    yield


def test_killing_the_process_mid_answer_closes_the_turn_for_followers_and_the_session_goes_on(
    shared_engines: dict[str, str], cluster: dict[str, LexProcess], tmp_path: Path
) -> None:
    b = cluster["b"]
    victim = spawn("victim", tmp_path, {**shared_engines, "TURN_LEASE_S": str(LEASE_S)})
    try:
        victim.wait_healthy()
        session = new_session()
        with open_stream(
            "POST", f"{victim.url}/query", query=WEATHER, session_id=session, **JSON
        ) as live:
            assert [next(live).event for _ in range(3)] == ["tool_use", "tool_output", "chunk"]
            follower_events, noticed = kill_while_followed(victim, b, session, pause(0.2))
    finally:
        victim.stop()
    assert_closed_as_lost(follower_events, noticed)

    after = post_query(b, ADDRESS, session)
    assert after[-1].json()["status"] == "completed"
    assert transcript_queries(b, session) == [WEATHER, ADDRESS]


def saved_messages(process: LexProcess, session_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{process.url}/sessions/{session_id}", headers=OPERATOR, timeout=10)
    if response.status_code == 404:
        return []
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def until_saved(process: LexProcess, session_id: str, call_id: str) -> Iterator[None]:
    """Waits until the tool call `call_id` is in the saved history (checkpoints save async)."""
    deadline = time.monotonic() + 10
    while not any(
        call["id"] == call_id
        for message in saved_messages(process, session_id)
        for call in message.get("tool_calls", [])
    ):
        assert time.monotonic() < deadline, "the tool call was never saved"
        time.sleep(0.05)
    yield


def test_killing_the_process_mid_tool_call_closes_the_turn_and_the_next_turn_closes_the_call(
    shared_engines: dict[str, str], cluster: dict[str, LexProcess], tmp_path: Path
) -> None:
    b = cluster["b"]
    slow_tool = {"TURN_LEASE_S": str(LEASE_S), "SIMULATED_WEATHER_DELAY_S": "30"}
    victim = spawn("victim-mid-tool", tmp_path, {**shared_engines, **slow_tool})
    try:
        victim.wait_healthy()
        session = new_session()
        with open_stream(
            "POST", f"{victim.url}/query", query=WEATHER, session_id=session, **JSON
        ) as live:
            use = next(live)
            assert use.event == "tool_use" and use.json()["name"] == "get_weather"
            call_id = use.json()["id"]
            follower_events, noticed = kill_while_followed(
                victim, b, session, until_saved(b, session, call_id)
            )
    finally:
        victim.stop()
    assert_closed_as_lost(follower_events, noticed)
    assert "tool_output" not in [e.event for e in follower_events]

    after = post_query(b, ADDRESS, session)
    assert after[-1].json()["status"] == "completed"
    messages = saved_messages(b, session)
    assert [m["role"] for m in messages[:4]] == ["user", "assistant", "tool", "user"]
    assert [m["text"] for m in messages if m["role"] == "user"] == [WEATHER, ADDRESS]
    assert [call["id"] for call in messages[1]["tool_calls"]] == [call_id]
    closed = messages[2]
    assert closed["tool_call_id"] == call_id and closed["status"] == "error"
    assert closed["text"] == INTERRUPTED_TOOL_RESULT
    answered = {m["tool_call_id"] for m in messages if m["role"] == "tool"}
    asked = {c["id"] for m in messages if m["role"] == "assistant" for c in m["tool_calls"]}
    assert asked == answered  # no tool call left without a result


def test_twenty_concurrent_bookings_of_one_slot_across_processes_give_exactly_one(
    shared_engines: dict[str, str], cluster: dict[str, LexProcess]
) -> None:
    processes = [cluster["a"], cluster["b"], cluster["c"]]
    with ThreadPoolExecutor(20) as pool:
        turns = list(
            pool.map(
                lambda n: post_query(processes[n % 3], BOOK_GT, new_session()),
                range(20),
            )
        )
    assert [events[-1].json()["status"] for events in turns] == ["completed"] * 20
    bookings = [
        e.json()
        for events in turns
        for e in events
        if e.event == "tool_output" and e.json()["name"] == "schedule_appointment"
    ]
    # Some answers see the slot taken before trying; every try but one is refused.
    assert sum(b["status"] == "success" for b in bookings) == 1
    with psycopg.connect(shared_engines["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT COUNT(*) FROM appointments WHERE date = %s AND status = 'confirmed'",
            (TWO_TUESDAYS_AHEAD.isoformat(),),
        ).fetchone()
    assert rows == (1,)


def test_five_processes_starting_together_on_an_empty_database_all_become_healthy(
    postgres_server_url: str, redis_server_url: str, tmp_path: Path
) -> None:
    with (
        fresh_schema(postgres_server_url) as database_url,
        fresh_key_prefix(redis_server_url) as prefix,
        lex_processes(
            tmp_path,
            shared_settings(database_url, redis_server_url, prefix),
            ("p1", "p2", "p3", "p4", "p5"),
        ) as processes,
    ):
        healths = [
            httpx.get(f"{p.url}/health", headers=OPERATOR, timeout=5).json()
            for p in processes.values()
        ]
    assert [(h["status"], h["database"], h["coordination"]) for h in healths] == [
        ("healthy", "ok", "ok")
    ] * 5


def serve_until_it_exits(cwd: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs `python -m api.serve --workers 2` as an operator does; returns once it has exited."""
    return subprocess.run(
        [*SERVE_COMMAND, "--port", str(free_port()), "--workers", "2"],
        cwd=cwd,
        env=lex_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_two_workers_on_sqlite_refuse_to_start(tmp_path: Path) -> None:
    result = serve_until_it_exits(
        tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'lex.sqlite'}"}
    )
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "Lex cannot start: WORKERS=2 was asked for" in result.stderr
    assert "DATABASE_URL=postgresql://" in result.stderr and "REDIS_URL=redis://" in result.stderr


def test_two_workers_on_postgres_without_redis_refuse_to_start(
    postgres_url: str, tmp_path: Path
) -> None:
    result = serve_until_it_exits(tmp_path, {"DATABASE_URL": postgres_url})
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "REDIS_URL=redis://" in result.stderr


def test_workers_that_fail_to_start_stop_the_service_with_a_failure_code(
    postgres_url: str, tmp_path: Path
) -> None:
    # Settings pass the launcher's checks; the workers then cannot reach Redis.
    unreachable_redis = f"redis://127.0.0.1:{free_port()}/0"
    result = serve_until_it_exits(
        tmp_path, {"DATABASE_URL": postgres_url, "REDIS_URL": unreachable_redis}
    )
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "Connection refused" in result.stderr
    assert "Lex cannot start: a worker failed to start" in result.stderr


@pytest.fixture
def two_workers(
    shared_engines: dict[str, str], tmp_path: Path
) -> Iterator[tuple[LexProcess, list[int]]]:
    """`python -m api.serve --workers 2` on the shared engines; yields it and its worker pids."""
    settings = {**shared_engines, "WORKERS": "2"}
    process = spawn("workers", tmp_path, settings, serve_args=("--workers", "2"))
    try:
        process.wait_healthy()
        yield process, wait_for_workers(process, 2)
    finally:
        process.stop()


def wait_for_workers(process: LexProcess, count: int, timeout_s: float = 60.0) -> list[int]:
    """The launcher's worker pids once `count` of them listen on its port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = worker_pids(process.process.pid)
        if len(pids) == count and all(held(pid, process.port, LISTEN) for pid in pids):
            return pids
        time.sleep(0.1)
    raise AssertionError(f"not {count} workers listening:\n{process.output()}")


@pytest.mark.skipif(not reuse_port_spreads(), reason="a socket per worker on Linux only")
def test_each_worker_accepts_on_a_socket_of_its_own_and_both_get_connections(
    two_workers: tuple[LexProcess, list[int]],
) -> None:
    process, pids = two_workers
    listening = [held(pid, process.port, LISTEN) for pid in pids]
    assert all(len(sockets) == 1 for sockets in listening), listening
    assert listening[0] != listening[1]
    # A burst of keep-alive connections, as a load balancer or a busy page opens them: with one
    # shared socket, the worker that wakes first accepts most of them and keeps them.
    clients = [socket.create_connection(("127.0.0.1", process.port)) for _ in range(40)]
    try:
        for client in clients:
            client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            assert client.recv(64).startswith(b"HTTP/1.1 200")
        per_worker = [len(held(pid, process.port, ESTABLISHED)) for pid in pids]
    finally:
        for client in clients:
            client.close()
    assert sum(per_worker) == 40
    assert min(per_worker) > 0, per_worker


@pytest.mark.skipif(not reuse_port_spreads(), reason="a socket per worker on Linux only")
def test_a_worker_that_dies_is_replaced_on_its_own_socket(
    two_workers: tuple[LexProcess, list[int]],
) -> None:
    process, pids = two_workers
    sockets = {pid: held(pid, process.port, LISTEN) for pid in pids}
    os.kill(pids[0], signal.SIGKILL)  # one of this test's own workers
    # Until the kernel has torn the killed worker down, the old two still look like two workers.
    deadline = time.monotonic() + 60
    while not (new := [pid for pid in wait_for_workers(process, 2) if pid not in pids]):
        assert time.monotonic() < deadline, (
            f"no worker replaced the killed one:\n{process.output()}"
        )
        time.sleep(0.1)
    replacement = new[0]
    # The launcher kept the socket open: connections queued for the dead worker wait for this one.
    assert held(replacement, process.port, LISTEN) == sockets[pids[0]]
    assert held(pids[1], process.port, LISTEN) == sockets[pids[1]]
    for _ in range(10):
        assert httpx.get(f"{process.url}/health", timeout=10).status_code == 200


@pytest.mark.skipif(not reuse_port_spreads(), reason="a socket per worker on Linux only")
def test_a_worker_added_gets_a_new_socket_and_a_worker_removed_takes_its_socket_away(
    two_workers: tuple[LexProcess, list[int]],
) -> None:
    process, pids = two_workers
    os.kill(process.process.pid, signal.SIGTTIN)
    three = wait_for_workers(process, 3)
    assert len(set(three) - set(pids)) == 1
    listening = [held(pid, process.port, LISTEN) for pid in three]
    assert all(len(sockets) == 1 for sockets in listening)
    assert len(set.union(*listening)) == 3
    os.kill(process.process.pid, signal.SIGTTOU)  # removes the worker added last
    assert set(wait_for_workers(process, 2)) == set(pids)
    # Its socket is closed: no connection is queued where no worker accepts.
    assert tcp_inodes(process.port, LISTEN) == set.union(
        *(held(pid, process.port, LISTEN) for pid in pids)
    )
    for _ in range(10):
        assert httpx.get(f"{process.url}/health", timeout=10).status_code == 200


def test_workers_on_an_address_already_served_refuse_to_start(
    shared_engines: dict[str, str], tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        result = subprocess.run(
            [*SERVE_COMMAND, "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=lex_env({**shared_engines, "WORKERS": "2"}),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert f"Lex cannot start: cannot listen on 127.0.0.1:{port}" in result.stderr


def test_tokens_through_nginx_arrive_as_they_are_made(
    cluster: dict[str, LexProcess], tmp_path: Path
) -> None:
    with nginx_in_front([cluster["a"].port, cluster["b"].port], tmp_path) as proxy:
        session = new_session()
        arrivals: list[tuple[float, SseEvent]] = []
        started = time.monotonic()
        with open_stream(
            "POST", f"{proxy}/query", query=WEATHER, session_id=session, **JSON
        ) as live:
            for event in live:
                arrivals.append((time.monotonic() - started, event))
        rejoined = httpx.get(
            f"{proxy}/sessions/{session}/stream", headers=OPERATOR, params=JSON, timeout=30
        )
    chunks = [at for at, event in arrivals if event.event == "chunk"]
    assert arrivals[-1][1].event == "end"
    assert len(chunks) >= 10
    # Buffered, every chunk would arrive together at the end; here they are spread over the answer.
    assert chunks[-1] - chunks[0] > 0.5 * (len(chunks) - 1) * float(TOKEN_DELAY_S)
    assert len({round(at, 2) for at in chunks}) > len(chunks) // 2
    assert rejoined.status_code == 200 and parse_sse(rejoined.text)[-1].event == "end"
