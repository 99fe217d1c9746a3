"""A store that does not answer (Redis, Postgres, a busy SQLite file) is a 503, not a 500.

Such a failure says nothing is wrong with the request and that trying again shortly may work, so
the client gets `503 service_unavailable` with `Retry-After`, the operator one warning line naming
the store (no traceback, no request body), and nothing was started: the route failed before its
turn began. A failure once a stream is running ends that turn with an `error` event instead
(`api/turns/executor.py`).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Final

import psycopg
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.errors import error_response

logger = logging.getLogger(__name__)

RETRY_AFTER_S: Final = 5
UNAVAILABLE_MESSAGE: Final = "Lex cannot reach its storage right now. Please try again in a moment."


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

    async def redis_down(_: Request, error: Exception) -> JSONResponse:
        return _unavailable("Redis", error)

    async def postgres_down(_: Request, error: Exception) -> JSONResponse:
        return _unavailable("Postgres", error)

    async def sqlite_error(_: Request, error: Exception) -> JSONResponse:
        if "locked" in str(error) or "busy" in str(error):
            return _unavailable("SQLite", error)
        raise error  # any other SQLite error is a fault of ours: the 500 handler logs it

    app.add_exception_handler(redis.exceptions.ConnectionError, redis_down)
    app.add_exception_handler(redis.exceptions.TimeoutError, redis_down)
    # Connection lost, server shutting down, pool exhausted (psycopg_pool.PoolTimeout).
    app.add_exception_handler(psycopg.OperationalError, postgres_down)
    app.add_exception_handler(sqlite3.OperationalError, sqlite_error)
