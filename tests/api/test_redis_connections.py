"""Every Lex Redis client: a dropped connection is replaced at once, a hang is waited out once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.exceptions
from redis.asyncio import Redis

from api.redis_connections import redis_options
from tests.support.tcp_forwarder import TcpForwarder, tcp_forwarder


@pytest.fixture
async def forwarded(redis_server_url: str) -> AsyncIterator[tuple[Redis, TcpForwarder]]:
    """A client made as Lex makes them, reaching the suite's Redis through a forwarder."""
    with tcp_forwarder(redis_server_url) as forwarder:
        client: Redis = Redis.from_url(forwarder.url(redis_server_url), **redis_options())
        try:
            yield client, forwarder
        finally:
            await client.aclose()


async def test_a_connection_redis_dropped_is_replaced_without_an_error(
    forwarded: tuple[Redis, TcpForwarder],
) -> None:
    client, redis_port = forwarded
    assert await client.ping()
    redis_port.drop()  # a restart closes every connection
    redis_port.forward()
    assert await client.ping()  # the dead connection's error is retried on a new one
    assert redis_port.accepted == 2


async def test_a_redis_that_hangs_costs_one_timeout_not_one_per_retry(
    forwarded: tuple[Redis, TcpForwarder],
) -> None:
    client, redis_port = forwarded
    assert await client.ping()
    redis_port.hold()
    with pytest.raises(redis.exceptions.TimeoutError):
        await client.ping()
    assert redis_port.accepted == 1  # a retry would have opened a new connection per attempt
