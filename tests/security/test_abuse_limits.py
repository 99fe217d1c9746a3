"""Attacks on capacity: floods of turns from one client, one session, or past the day's budget.

Each turn costs model calls; these limits refuse the excess before any model call.
"""

from __future__ import annotations

import httpx

from tests.security.attacks import ATTACKER_HEADERS, FRONTEND_HEADERS, ask, events
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.metrics import moved, scrape
from tests.support.scripted_model import ScriptedChatModel, text


def test_one_client_cannot_flood_queries(lex_server: ServerFactory) -> None:
    model = ScriptedChatModel(script=[text("Hi.")] * 10)
    with lex_server(chat_model=model, query_rate_limit="3/minute") as base_url:
        statuses = [
            ask(base_url, "hello", f"flood-{n}", ATTACKER_HEADERS).status_code for n in range(6)
        ]
        refused = ask(base_url, "hello", "flood-x", ATTACKER_HEADERS)
        operator = ask(base_url, "hello", "ops", OPERATOR)
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert operator.status_code == 200  # the operator is not limited
    assert len(model.received) == 4  # 3 + the operator's: the refused never reached the model


def test_one_session_cannot_run_turns_without_end(lex_server: ServerFactory) -> None:
    with lex_server(session_turn_limit="2/hour") as base_url:
        statuses = [
            ask(base_url, "hello", "busy-session", FRONTEND_HEADERS).status_code for _ in range(3)
        ]
        other = ask(base_url, "hello", "another-session", FRONTEND_HEADERS)
    assert statuses == [200, 200, 429]
    assert other.status_code == 200


def test_past_the_daily_budget_lex_answers_politely_without_the_model(
    lex_server: ServerFactory,
) -> None:
    model = ScriptedChatModel(script=[text("The first answer.")] * 5)
    with lex_server(chat_model=model, daily_token_budget=1) as base_url:
        first = events(ask(base_url, "hello", "budget", FRONTEND_HEADERS))
        second = events(ask(base_url, "hello again", "budget", FRONTEND_HEADERS))
    assert "The first answer." in "".join(e.json()["text"] for e in first if e.event == "chunk")
    chunks = [e.json()["text"] for e in second if e.event == "chunk"]
    assert chunks and "resting until tomorrow" in chunks[0]
    assert second[-1].event == "end"
    assert len(model.received) == 1


def test_a_full_server_refuses_with_503_before_any_model_call(lex_server: ServerFactory) -> None:
    with lex_server(max_running_turns=1, offline_token_delay_s=0.05) as base_url:
        body = {"query": "hello", "session_id": "long-answer"}
        with httpx.stream(
            "POST", f"{base_url}/query", json=body, headers=ATTACKER_HEADERS, timeout=30
        ) as running:
            assert running.status_code == 200
            refused = ask(base_url, "hello", "second", FRONTEND_HEADERS)
            running.read()
        after = ask(base_url, "hello", "third", FRONTEND_HEADERS)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert after.status_code == 200  # the slot came back when the turn ended


def test_behind_a_trusted_proxy_each_customer_has_its_own_rate(lex_server: ServerFactory) -> None:
    # The proxy is 127.0.0.2, inside the trusted range (uvicorn itself believes only 127.0.0.1);
    # the customers are the addresses it forwards for. A customer naming another address in the
    # header itself is not believed: only the hop the proxy appended counts.
    proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)

    def send(forwarded_for: str) -> int:
        headers = {**ATTACKER_HEADERS, "X-Forwarded-For": forwarded_for}
        body = {"query": "hello", "session_id": "customer", "stream_format": "json"}
        return proxy.post(f"{base_url}/query", json=body, headers=headers).status_code

    with proxy:
        with lex_server(query_rate_limit="1/minute", trusted_proxies="127.0.0.0/8") as base_url:
            first = [send("203.0.113.5"), send("203.0.113.5")]
            second = send("203.0.113.6")
            spoofed = send("203.0.113.7, 203.0.113.5")
        with lex_server(query_rate_limit="1/minute") as base_url:
            untrusted = [send("203.0.113.5"), send("203.0.113.6")]
    assert first == [200, 429] and second == 200 and spoofed == 429
    assert untrusted == [200, 429]  # without TRUSTED_PROXIES the header is ignored


def test_an_ipv6_client_cannot_escape_its_rate_by_changing_address_within_its_64(
    lex_server: ServerFactory,
) -> None:
    # One IPv6 host is handed a whole /64 and can send from any address in it: each address
    # counted as a new client would make every per-client limit (bookings too) void.
    proxy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30)

    def send(forwarded_for: str) -> int:
        headers = {**ATTACKER_HEADERS, "X-Forwarded-For": forwarded_for}
        body = {"query": "hello", "session_id": "customer", "stream_format": "json"}
        return proxy.post(f"{base_url}/query", json=body, headers=headers).status_code

    with (
        proxy,
        lex_server(query_rate_limit="2/minute", trusted_proxies="127.0.0.0/8") as base_url,
    ):
        same_host = [send("2001:db8:1:2::1"), send("2001:db8:1:2::beef"), send("2001:db8:1:2:a::9")]
        next_network = send("2001:db8:1:3::1")
        mapped = [send("::ffff:203.0.113.9"), send("203.0.113.9"), send("203.0.113.9")]
    assert same_host == [200, 200, 429]
    assert next_network == 200  # another /64 is another customer
    assert mapped == [200, 200, 429]  # an IPv4-mapped address is that IPv4 client


def test_one_client_cannot_flood_session_creation(lex_server: ServerFactory) -> None:
    with lex_server(session_create_rate_limit="3/minute") as base_url:
        before = scrape(base_url)
        statuses = [
            httpx.post(f"{base_url}/sessions", headers=ATTACKER_HEADERS).status_code
            for _ in range(5)
        ]
        refused = httpx.post(f"{base_url}/sessions", headers=ATTACKER_HEADERS)
        operator = httpx.post(f"{base_url}/sessions", headers=OPERATOR)
        after = scrape(base_url)
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR).json()["sessions"]
    assert statuses == [201, 201, 201, 429, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert operator.status_code == 201  # the operator is not limited
    assert len(listed) == 4  # the refused made no rows
    limited = {"route": "/sessions", "status": "429"}
    assert moved(before, after, "lex_rate_limited_requests_total", **limited) == 3
