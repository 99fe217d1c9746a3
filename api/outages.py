"""A store that does not answer (Redis, Postgres, a busy SQLite file) is a 503, not a 500.

Such a failure says nothing is wrong with the request and that trying again shortly may work, so
the client gets `503 service_unavailable` with `Retry-After`, the operator one warning line naming
the store (no traceback, no request body), and nothing was started: the route failed before its
turn began. A failure once a stream is running ends that turn with a retryable
`service_unavailable` error event instead (`api/turns/failures.py`).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Final

import psycopg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from api.errors import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_S: Final = 5
UNAVAILABLE_MESSAGE: Final = "Lex cannot reach its storage right now. Please try again in a moment."


STORE_ERRORS: Final = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    # Connection lost, server shutting down, pool exhausted (psycopg_pool.PoolTimeout).
    psycopg.OperationalError,
    sqlite3.OperationalError,
)


def unavailable_store(error: BaseException) -> str | None:
    """Names the store `error` says did not answer ("Redis", "Postgres", "SQLite"), else None.

    Any other SQLite error than a locked or busy file is a fault of ours, not an outage.
    """
    if isinstance(
        error, redis.exceptions.AuthenticationError | redis.exceptions.AuthorizationError
    ):
        return None  # a wrong password or ACL: a fault of the configuration, retrying cannot help
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "Redis"
    if isinstance(error, psycopg.OperationalError) and postgres_unreachable(error):
        return "Postgres"
    if isinstance(error, sqlite3.OperationalError) and (
        "locked" in str(error) or "busy" in str(error)
    ):
        return "SQLite"
    return None


POSTGRES_OUTAGE_STATES: Final = frozenset({"53300", "57P01", "57P02", "57P03"})
"""SQLSTATEs of a server that is full (too many connections) or shutting down or starting."""


def postgres_unreachable(error: psycopg.OperationalError) -> bool:
    """Whether a psycopg OperationalError says the database did not answer.

    psycopg files ninety error classes under OperationalError, most of them faults of a query
    (a statement too complex, a limit exceeded, a cancelled statement) that would fail again: only
    a pool that gave no connection, a connection lost on our side (no SQLSTATE), a connection
    exception (class 08) or a server shutting down, starting or full is an outage.
    """
    if isinstance(error, PoolTimeout):
        return True
    state = error.sqlstate
    return state is None or state.startswith("08") or state in POSTGRES_OUTAGE_STATES


def _unavailable(store: str, error: Exception) -> JSONResponse:
    logger.warning("%s did not answer: %s", store, type(error).__name__)
    return error_response(
        503,
        "service_unavailable",
        UNAVAILABLE_MESSAGE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install_outage_handlers(app: FastAPI) -> None:
    """Registers the 503 answers for stores that do not answer."""

    async def store_down(_: Request, error: Exception) -> JSONResponse:
        store = unavailable_store(error)
        if store is None:
            raise error  # a fault of ours: the 500 handler logs it
        return _unavailable(store, error)

    for error_type in STORE_ERRORS:
        app.add_exception_handler(error_type, store_down)
