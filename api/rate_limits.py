"""Abuse limits: turns per client and per session, sessions and bookings per client, daily tokens.

Each turn costs model calls (Groq bills them), so one client must not run hundreds a second, one
session must not run forever, and a day's spend has a ceiling. Each session made by
`POST /sessions` adds rows, so one client may make only so many; each booking holds a slot other
customers cannot have, so one client may make only so many of those too. Counts live in the
`limits` library's storage, in memory by default or in Redis (`RATE_LIMIT_STORAGE_URL=redis://...`),
so several replicas share one count. Fixed windows: cheap (one increment per check) and good enough
for abuse, which is far over any limit.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerDay, parse, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from api.errors import ApiError
from api.redis_connections import redis_options
from api.stream.events import TurnEnd, TurnEvent
from api.turns.coordination.base import TurnSink

logger = logging.getLogger(__name__)

KEY_PREFIX: Final = "lex-limits"
MEMORY_URL: Final = "memory://"
ASYNC_SCHEME_PREFIX: Final = "async+"
TOKEN_BUDGET_KEY: Final = "model-tokens"
BOOKING_KEY: Final = "booking"
OFF: Final = frozenset({"", "none", "off"})
"""Values of a rate setting that turn that limit off."""
WIDER_IPV6_SCOPES: Final = ((56, 4), (48, 16))
"""Networks an IPv6 client (its /64) is also counted in, with an allowance that many times larger.

One customer may hold a /56 or a /48 (a delegated prefix, a free tunnel, 6to4): 256 or 65,536
/64s, each a new client. Counted in its /48 too, such a customer gets at most 16 times one
client's allowance; a household or office with a /56 or /48 rarely comes near it.
"""


def client_scopes(client: str) -> list[tuple[str, int]]:
    """Returns what a client is counted as, each with its allowance's multiple.

    An IPv4 client is its address; an IPv6 client its /64, and the /56 and /48 around it.
    """
    try:
        network = ipaddress.ip_network(client)
    except ValueError:
        return [(client, 1)]
    if not isinstance(network, ipaddress.IPv6Network) or network.prefixlen != 64:
        return [(client, 1)]
    wider = [
        (str(network.supernet(new_prefix=prefix)), times) for prefix, times in WIDER_IPV6_SCOPES
    ]
    return [(client, 1), *wider]


def times(item: RateLimitItem, factor: int) -> RateLimitItem:
    """Returns `item` with `factor` times its allowance, over the same window."""
    if factor == 1:
        return item
    return type(item)(item.amount * factor, item.multiples, item.namespace)


class Limits(Protocol):
    """What the routes ask of the limiter; each answer is None (go on) or seconds to wait."""

    async def client_query(self, client: str) -> float | None:
        """Counts one message from `client`; seconds until it may send again when over."""
        ...

    async def session_turn(self, session_key: str) -> float | None:
        """Counts one turn of a session; seconds until it may run another when over."""
        ...

    async def client_session_create(self, client: str) -> float | None:
        """Counts one session made by `client`; seconds until it may make another when over."""
        ...

    async def client_booking(self, client: str) -> float | None:
        """Takes one booking of `client`'s allowance; when none is left, seconds until one is."""
        ...

    async def return_client_booking(self, client: str) -> None:
        """Gives back a booking `client_booking` took, for a booking that failed after all."""
        ...

    async def tokens_left(self) -> bool:
        """Whether today's model-token budget has any left."""
        ...

    async def spend_tokens(self, tokens: int) -> None:
        """Counts tokens a turn used against today's budget."""
        ...


async def refuse_when_over(wait_s: float | None, message: str) -> None:
    """Raises 429 with Retry-After when a limit says to wait.

    The routes call it with a `Limits` answer, so every limit is refused alike.

    Raises:
        ApiError: 429 when `wait_s` is not None.
    """
    if wait_s is not None:
        raise ApiError(429, "rate_limited", message, headers={"Retry-After": str(int(wait_s))})


@dataclass(frozen=True)
class LimitRules:
    """The limits, as the settings give them.

    Attributes:
        query_rate: Messages per client, in the `limits` notation ("30/minute"); "" for none.
        session_turns: Turns per session, e.g. "120/hour"; "" for none.
        daily_tokens: Model tokens per day over all sessions; 0 for no budget.
        session_creates: Sessions per client made by `POST /sessions`, e.g. "10/minute"; ""
            for none.
        bookings: Confirmed bookings per client, one window or several joined by ";" (every
            one must allow the booking), e.g. "5/hour;20/day"; "" for none.
    """

    query_rate: str
    session_turns: str
    daily_tokens: int
    session_creates: str = ""
    bookings: str = ""


def parse_rate(text: str) -> RateLimitItem | None:
    """Returns the limit a rate setting names ("30/minute"), or None for "none".

    Raises:
        ValueError: The text is not a rate.
    """
    return None if text.strip().lower() in OFF else parse(text)


def parse_rates(text: str) -> list[RateLimitItem]:
    """Returns the limits a setting of one or more rates names ("5/hour;20/day"); [] for "none".

    Raises:
        ValueError: The text is not a rate or rates.
    """
    return [] if text.strip().lower() in OFF else parse_many(text)


def listed(item: RateLimitItem | None) -> list[RateLimitItem]:
    """Returns the one limit as a list; [] when it is off."""
    return [] if item is None else [item]


def async_storage_url(url: str) -> str:
    """Returns the `limits` async storage URL of `memory://` or a `redis://` URL."""
    return url if url.startswith(ASYNC_SCHEME_PREFIX) else ASYNC_SCHEME_PREFIX + url


class LibraryLimits:
    """`Limits` over the `limits` library's fixed-window limiter.

    In Redis every counter's key starts with `key_prefix` and a colon, e.g.
    `lex:limits:LIMITER/client/203.0.113.7/30/1/minute`. The connections are this object's own
    pool, closed by `aclose` (the library opens connections but never closes them).

    Args:
        rules: The limits.
        storage_url: `memory://`, or `redis://host:port/db` shared by every replica.
        key_prefix: Prefix of the counters' keys in Redis (one per deployment, or per test).
    """

    def __init__(
        self, rules: LimitRules, storage_url: str = MEMORY_URL, *, key_prefix: str = KEY_PREFIX
    ) -> None:
        options: dict[str, Any] = {}
        self._pool: redis.asyncio.ConnectionPool | None = None
        if not storage_url.startswith(MEMORY_URL):
            self._pool = redis.asyncio.ConnectionPool.from_url(
                storage_url.removeprefix(ASYNC_SCHEME_PREFIX), **redis_options()
            )
            options = {
                "implementation": "redispy",
                "key_prefix": key_prefix,
                "connection_pool": self._pool,
            }
        storage = storage_from_string(async_storage_url(storage_url), **options)
        if not isinstance(storage, Storage):  # pragma: no cover - the async+ scheme gives one
            raise TypeError(f"not an async limits storage: {storage_url}")
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(self.storage)
        self._query = parse_rate(rules.query_rate)
        self._session = parse_rate(rules.session_turns)
        self._creates = parse_rate(rules.session_creates)
        self._bookings = parse_rates(rules.bookings)
        self._tokens = RateLimitItemPerDay(rules.daily_tokens) if rules.daily_tokens else None

    async def aclose(self) -> None:
        """Closes the connections to Redis (nothing to close in memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def _hit(self, item: RateLimitItem | None, *identifiers: str) -> float | None:
        if item is None:
            return None
        if await self._limiter.hit(item, *identifiers):
            return None
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1.0, math.ceil(stats.reset_time - time.time()))

    def _client_items(
        self, items: list[RateLimitItem], client: str
    ) -> list[tuple[RateLimitItem, str]]:
        """Every (limit, identifier) a request of `client` counts against."""
        return [
            (times(item, factor), identifier)
            for item in items
            for identifier, factor in client_scopes(client)
        ]

    async def _hit_client(self, items: list[RateLimitItem], kind: str, client: str) -> float | None:
        """Counts one against every limit of `client`; the longest wait of those over, or None."""
        waits: list[float] = []
        for item, identifier in self._client_items(items, client):
            if await self._limiter.hit(item, kind, identifier):
                continue
            stats = await self._limiter.get_window_stats(item, kind, identifier)
            waits.append(max(1.0, math.ceil(stats.reset_time - time.time())))
        return max(waits) if waits else None

    async def client_query(self, client: str) -> float | None:
        """Counts one message from `client`; seconds until it may send again when over."""
        return await self._hit_client(listed(self._query), "client", client)

    async def session_turn(self, session_key: str) -> float | None:
        """Counts one turn of a session; seconds until it may run another when over."""
        return await self._hit(self._session, "session", session_key)

    async def client_session_create(self, client: str) -> float | None:
        """Counts one session made by `client`; seconds until it may make another when over."""
        return await self._hit_client(listed(self._creates), "session-create", client)

    async def client_booking(self, client: str) -> float | None:
        """Takes one booking of `client`'s allowance; when none is left, seconds until one is.

        Every window is counted; when one refuses, every window is given back, so a refused
        booking costs nothing and the wait is the longest of the refusing windows'.
        """
        wait = await self._hit_client(self._bookings, BOOKING_KEY, client)
        if wait is not None:
            await self.return_client_booking(client)
        return wait

    async def return_client_booking(self, client: str) -> None:
        """Gives back a booking `client_booking` took, for a booking that failed after all."""
        for item, identifier in self._client_items(self._bookings, client):
            key, expiry = item.key_for(BOOKING_KEY, identifier), item.get_expiry()
            if await self.storage.incr(key, expiry, amount=-1) < 0:
                # The window ended in between: the count started again below zero, which would
                # give the next window one booking more. Back to zero.
                await self.storage.incr(key, expiry, amount=1)

    async def tokens_left(self) -> bool:
        """Whether today's model-token budget has any left."""
        if self._tokens is None:
            return True
        return await self._limiter.test(self._tokens, TOKEN_BUDGET_KEY)

    async def spend_tokens(self, tokens: int) -> None:
        """Counts tokens a turn used against today's budget."""
        if self._tokens is None or tokens <= 0:
            return
        await self._limiter.hit(self._tokens, TOKEN_BUDGET_KEY, cost=tokens)


class TurnSlots:
    """A cap on the turns this process runs at once: past it, refuse before any model call.

    Args:
        limit: Most turns running (or queued) at once.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    def try_take(self) -> bool:
        """Takes a slot; False when all are in use."""
        if self.in_use >= self.limit:
            return False
        self.in_use += 1
        return True

    def give_back(self) -> None:
        """Returns a slot taken by `try_take`."""
        self.in_use = max(0, self.in_use - 1)


class MeteredSink:
    """A turn's sink that also notes the tokens its `end` reports, for the daily budget.

    Args:
        sink: Where the events really go.
    """

    def __init__(self, sink: TurnSink) -> None:
        self._sink = sink
        self.tokens = 0

    @property
    def run_id(self) -> str:
        """The turn's id."""
        return self._sink.run_id

    @property
    def after_lost_turn(self) -> bool:
        """Whether the session's previous turn died with its process."""
        return self._sink.after_lost_turn

    def publish(self, event: TurnEvent) -> None:
        """Passes the event on; an `end` also tells how many tokens the turn used."""
        self._sink.publish(event)
        if isinstance(event, TurnEnd):
            usage = event.details.get("usage") or {}
            self.tokens = int(usage.get("total_tokens", 0)) if isinstance(usage, dict) else 0
