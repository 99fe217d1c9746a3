"""How every Redis client of Lex connects: short bounded waits, a dropped connection replaced.

A restart of Redis (or a failover) closes every connection in a client's pool; without a retry each
idle connection would fail one request on its next use, long after Redis is back. One quick retry
on a connection error opens a fresh connection instead. While Redis is really down the request
still fails fast, and the route answers 503 (`api/outages.py`).

A timeout is not retried: a Redis that hangs would hang the request again for each attempt (three
timeouts in a row before this was so), so a request waits at most one timeout. Redis answers in
well under a millisecond; the longest wait Lex asks of it is a blocking read of at most
`MAX_BLOCKING_READ_S` (`api/turns/coordination/redis.py`), so the timeout leaves one second
beyond that for the reply and no more.
"""

from __future__ import annotations

from typing import Any, Final

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

MAX_BLOCKING_READ_S: Final = 1.0
"""The longest blocking read (XREAD BLOCK, pub/sub) Lex makes; the socket timeout exceeds it."""
SOCKET_TIMEOUT_S: Final = MAX_BLOCKING_READ_S + 1.0
"""redis-py's read and connect timeout: the most one request waits for a Redis that hangs."""
RETRIES: Final = 2


def redis_options() -> dict[str, Any]:
    """Returns the keyword arguments every Lex Redis client and pool is made with."""
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "health_check_interval": 30,
        "retry": Retry(
            ExponentialBackoff(cap=0.2, base=0.02),
            RETRIES,
            supported_errors=(RedisConnectionError,),
        ),
    }
