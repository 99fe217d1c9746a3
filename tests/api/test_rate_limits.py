"""The abuse limits counted in a real Redis: replicas share one count, under the configured prefix.

Two app instances (each its own database and event loop, as two replicas are) count in the same
Redis through `RATE_LIMIT_STORAGE_URL`; a client, a session or the day's token budget limited on
one is limited on the other. Every key lives under the test's own prefix, deleted afterwards.
A client's bookings are taken and given back in memory and in Redis alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis

from api.rate_limits import LibraryLimits, LimitRules
from tests.security.attacks import FRONTEND_HEADERS, ask, create_session, events
from tests.support.app_server import ServerFactory


@contextmanager
def two_replicas(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str, **limits: object
) -> Iterator[tuple[str, str]]:
    """Two servers sharing Redis for their limits (and a binding key, as replicas must)."""
    with ExitStack() as stack:
        urls = [
            stack.enter_context(
                lex_server(
                    database_url=f"sqlite:///{tmp_path / name / 'lex.sqlite'}",
                    data_dir=str(tmp_path / name / "data"),
                    rate_limit_storage_url=redis_url,
                    redis_key_prefix=redis_prefix,
                    session_binding_key="replicas-share-this-binding-key",
                    **limits,
                )
            )
            for name in ("a", "b")
        ]
        yield urls[0], urls[1]


def test_a_client_limited_on_one_replica_is_limited_on_the_other(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    with two_replicas(
        lex_server, tmp_path, redis_url, redis_prefix, query_rate_limit="3/minute"
    ) as (a, b):
        statuses = [
            ask(url, "hello", f"chat-{n}", FRONTEND_HEADERS).status_code
            for n, url in enumerate((a, b, a, b, a))
        ]
    assert statuses == [200, 200, 200, 429, 429]


def test_a_session_limited_on_one_replica_is_limited_on_the_other(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    with two_replicas(
        lex_server, tmp_path, redis_url, redis_prefix, session_turn_limit="2/hour"
    ) as (a, b):
        statuses = [
            ask(url, "hello", "one-chat", FRONTEND_HEADERS).status_code for url in (a, b, a, b)
        ]
        other = ask(b, "hello", "another-chat", FRONTEND_HEADERS)
    assert statuses == [200, 200, 429, 429]
    assert other.status_code == 200


def test_the_daily_token_budget_spent_on_one_replica_is_spent_on_the_other(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    with two_replicas(lex_server, tmp_path, redis_url, redis_prefix, daily_token_budget=1) as (
        a,
        b,
    ):
        first = events(ask(a, "hello", "budget", FRONTEND_HEADERS))
        second = events(ask(b, "hello", "budget-elsewhere", FRONTEND_HEADERS))
    assert "limited" not in first[-1].json()
    assert "resting until tomorrow" in second[0].json()["text"]
    assert second[-1].json()["limited"] == "daily_token_budget"


def test_every_limit_key_carries_the_configured_prefix(
    lex_server: ServerFactory, tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    limits = {"query_rate_limit": "30/minute", "session_turn_limit": "120/hour"}
    with two_replicas(lex_server, tmp_path, redis_url, redis_prefix, **limits) as (a, _):
        session = create_session(a)
        events(ask(a, "hello", session.session_id, FRONTEND_HEADERS | session.auth))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        ours = list(client.scan_iter(match=f"*{session.session_id}*", count=1000))
        under_prefix = list(client.scan_iter(match=f"{redis_prefix}*", count=1000))
    finally:
        client.close()
    assert ours == [f"{redis_prefix}limits:LIMITER/session/{session.session_id}/120/1/hour"]
    limit_keys = [key for key in under_prefix if key.startswith(f"{redis_prefix}limits:")]
    assert {key.split("/")[1] for key in limit_keys} == {"client", "session", "model-tokens"}


BookingLimits = Callable[[str], LibraryLimits]


@pytest.fixture(params=["memory", "redis"])
async def booking_limits(request: pytest.FixtureRequest) -> AsyncIterator[BookingLimits]:
    """Makes limits of the given bookings per client, in memory or in a real Redis."""
    made: list[LibraryLimits] = []

    def make(bookings: str) -> LibraryLimits:
        rules = LimitRules("none", "none", daily_tokens=0, bookings=bookings)
        if request.param == "memory":
            made.append(LibraryLimits(rules))
        else:
            url = request.getfixturevalue("redis_url")
            prefix = request.getfixturevalue("redis_prefix")
            made.append(LibraryLimits(rules, url, key_prefix=f"{prefix}limits"))
        return made[-1]

    try:
        yield make
    finally:
        for limits in made:
            await limits.aclose()


async def test_a_refused_booking_takes_nothing_and_a_returned_one_is_free_again(
    booking_limits: BookingLimits,
) -> None:
    limits, client = booking_limits("2/hour;20/day"), "203.0.113.7"
    assert [await limits.client_booking(client) for _ in range(2)] == [None, None]
    refused = [await limits.client_booking(client) for _ in range(3)]
    assert all(wait is not None and 1 <= wait <= 3600 for wait in refused)

    await limits.return_client_booking(client)  # a booking that failed after all

    assert await limits.client_booking(client) is None  # refusals left no count behind
    assert await limits.client_booking(client) is not None
    assert await limits.client_booking("198.51.100.4") is None  # another client


async def test_every_window_counts_and_the_longest_refusal_says_how_long_to_wait(
    booking_limits: BookingLimits,
) -> None:
    limits, client = booking_limits("3/hour;2/day"), "203.0.113.8"
    assert [await limits.client_booking(client) for _ in range(2)] == [None, None]

    wait = await limits.client_booking(client)  # the hour has room, the day has not

    assert wait is not None and 3600 < wait <= 86400


async def test_giving_back_in_a_new_window_never_lends_the_next_one_a_booking(
    booking_limits: BookingLimits,
) -> None:
    limits, client = booking_limits("2/hour"), "203.0.113.9"
    await limits.return_client_booking(client)  # nothing counted: its window ended meanwhile

    assert [await limits.client_booking(client) for _ in range(3)][2] is not None


def test_no_booking_limit_never_counts() -> None:
    limits = LibraryLimits(LimitRules("none", "none", daily_tokens=0, bookings="none"))
    assert asyncio.run(limits.client_booking("203.0.113.10")) is None


async def test_an_ipv6_customer_holding_a_48_gets_at_most_16_allowances(
    booking_limits: BookingLimits,
) -> None:
    # One /64 each: in one /56 they share 4 allowances, across a /48 16 (a /48 holds 65,536).
    limits = booking_limits("1/hour")
    in_one_56 = [await limits.client_booking(f"2001:db8:5:{n:x}::/64") for n in range(8)]
    across_the_48 = [await limits.client_booking(f"2001:db8:5:{n:x}00::/64") for n in range(1, 40)]
    elsewhere = await limits.client_booking("2001:db8:6::/64")

    assert sum(wait is None for wait in in_one_56) == 4
    assert sum(wait is None for wait in in_one_56 + across_the_48) == 16
    assert elsewhere is None  # another /48 is another customer
    assert await limits.client_booking("203.0.113.11") is None  # IPv4 clients are addresses


async def test_a_refused_ipv6_booking_gives_back_every_scope_it_took(
    booking_limits: BookingLimits,
) -> None:
    limits, client = booking_limits("1/hour"), "2001:db8:7::/64"
    assert await limits.client_booking(client) is None
    assert await limits.client_booking(client) is not None  # refused: its /56 and /48 untouched
    neighbours = [await limits.client_booking(f"2001:db8:7:{n}::/64") for n in range(1, 4)]
    assert neighbours == [None, None, None]  # the /56 still had 3 of its 4
