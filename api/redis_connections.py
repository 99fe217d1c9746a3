"""How every Redis client of Lex connects: bounded waits, and a connection Redis dropped replaced.

A restart of Redis (or a failover) closes every connection in a client's pool; without a retry each
idle connection would fail one request on its next use, long after Redis is back. One quick retry
on a connection error opens a fresh connection instead. While Redis is really down the request
still fails fast, and the route answers 503 (`api/outages.py`). The timeouts bound every wait: a
Redis that hangs must not hang the requests that use it.
"""

from __future__ import annotations

from typing import Any, Final

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

SOCKET_TIMEOUT_S: Final = 5.0
"""redis-py's read and connect timeout; every blocking read asks for less."""
RETRIES: Final = 2


def redis_options() -> dict[str, Any]:
    """Returns the keyword arguments every Lex Redis client and pool is made with."""
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "health_check_interval": 30,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.02), RETRIES),
    }
