"""Slow and greedy clients meet the shipped nginx (Debian's) before they reach Lex.

uvicorn has no timeout for reading a request's header, so a client trickling its header one
byte at a time would hold a connection for ever: nginx cuts it. One address holding many
requests open, or flooding `POST /query`, is refused with 429. A long answer is never cut.
The tests render the shipped `infrastructure/nginx.conf` with 1 s client timeouts instead of
its 10-30 s, so they take seconds; every other value is the shipped one.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.security.attacks import ask, events
from tests.support.app_server import ServerFactory
from tests.support.nginx import NGINX_CONF, nginx_in_front
from tests.support.scripted_model import ScriptedChatModel, text

SHORT = "1s"
SHORT_TIMEOUTS = {
    "client_header_timeout": SHORT,
    "client_body_timeout": SHORT,
    "keepalive_timeout": SHORT,
    "send_timeout": SHORT,
}
SHIPPED = NGINX_CONF.read_text()


def shipped_number(pattern: str) -> int:
    match = re.search(pattern, SHIPPED)
    assert match, pattern
    return int(match.group(1))


@pytest.fixture
def proxy(lex_server: ServerFactory, tmp_path: Path) -> Iterator[str]:
    """nginx, with 1 s client timeouts, in front of a Lex on the offline model."""
    with (
        lex_server() as base_url,
        nginx_in_front([port_of(base_url)], tmp_path, **SHORT_TIMEOUTS) as url,
    ):
        yield url


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def connect(url: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(url)), timeout=5)


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (an answer before the close is allowed)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        while data := sock.recv(4096):
            if not select.select([sock], [], [], 0.05)[0]:
                return data.startswith(b"HTTP/1.1 408")
        return True
    except ConnectionError:
        return True


def test_a_header_sent_one_byte_at_a_time_is_cut_off(proxy: str) -> None:
    sock = connect(proxy)
    started = time.monotonic()
    cut_after = None
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(60):  # 6 s of trickle if nobody stops it
            try:
                sock.sendall(b"a")
            except ConnectionError:
                cut_after = time.monotonic() - started
                break
            if closed_by_peer(sock):
                cut_after = time.monotonic() - started
                break
            time.sleep(0.1)
    finally:
        sock.close()
    assert cut_after is not None, "nginx kept reading a header for 6 s"
    assert 0.9 <= cut_after < 4, cut_after
    assert httpx.get(f"{proxy}/health", timeout=5).status_code == 200


def test_more_requests_in_flight_than_limit_conn_from_one_address_are_refused(
    proxy: str,
) -> None:
    limit = shipped_number(r"limit_conn lex_per_address (\d+);")
    assert httpx.get(f"{proxy}/health", timeout=5).status_code == 200
    with ExitStack() as stack:
        for _ in range(limit):
            # A body announced and never sent: nginx holds the request while it waits for it.
            sock = stack.enter_context(connect(proxy))
            sock.sendall(
                b"POST /sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
        deadline = time.monotonic() + 3
        while (refused := httpx.get(f"{proxy}/health", timeout=5)).status_code != 429:
            assert time.monotonic() < deadline, "one address held more than limit_conn requests"
            time.sleep(0.05)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    deadline = time.monotonic() + 3
    while httpx.get(f"{proxy}/health", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the address stayed refused after its requests ended"
        time.sleep(0.05)


def test_a_flood_of_messages_is_refused_and_other_requests_are_not(proxy: str) -> None:
    burst = shipped_number(r"limit_req zone=lex_messages burst=(\d+)")
    invalid = {"session_id": "flood"}  # Lex answers 422 at once: only nginx's count matters
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    with httpx.Client(timeout=10) as client:
        messages = [
            client.post(f"{proxy}/query", json=invalid).status_code for _ in range(burst + 10)
        ]
        others = [client.get(f"{proxy}/health").status_code for _ in range(burst + 5)]
        others += [
            client.options(f"{proxy}/query", headers=preflight).status_code for _ in range(5)
        ]
    assert messages[: burst + 1] == [422] * (burst + 1)  # the first and the burst reach Lex
    assert 429 in messages
    assert set(others) == {200}


def test_a_stream_quieter_than_every_client_timeout_is_not_cut(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    # Each token comes 1.5 s after the last: longer than the 1 s send, body and keep-alive
    # timeouts, which never apply while nginx waits for Lex.
    model = ScriptedChatModel(script=[text("Here.")], token_delay_s=1.5)
    with (
        lex_server(chat_model=model) as base_url,
        nginx_in_front([port_of(base_url)], tmp_path, **SHORT_TIMEOUTS) as url,
    ):
        started = time.monotonic()
        answer = events(ask(url, "hello", "quiet-stream"))
        took = time.monotonic() - started
    assert took > 2.5
    assert [e.event for e in answer][-2:] == ["chunk", "end"]
    assert answer[-1].json()["status"] == "completed"


def test_a_page_served_through_the_proxy_may_create_its_session(proxy: str) -> None:
    """An older browser's same-origin POST carries Origin with the proxy's port: Host must too."""
    created = httpx.post(f"{proxy}/sessions", headers={"Origin": proxy}, timeout=10)
    foreign = httpx.post(
        f"{proxy}/sessions", headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert created.status_code == 201
    assert foreign.status_code == 403


def test_a_client_cannot_name_itself_another_address_through_nginx(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    # Lex trusts nginx's hop (here loopback, as a compose network's range is trusted there); a
    # header the client wrote itself must not become the client Lex counts.
    with (
        lex_server(query_rate_limit="1/minute", trusted_proxies="127.0.0.0/8") as base_url,
        nginx_in_front([port_of(base_url)], tmp_path) as url,
    ):
        statuses = [
            httpx.post(
                f"{url}/query",
                json={"query": "hello", "session_id": "spoofer", "stream_format": "json"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                timeout=30,
            ).status_code
            for n in (1, 2)
        ]
    assert statuses == [200, 429]  # both counted as the one address nginx saw
