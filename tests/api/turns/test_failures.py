"""What a failed turn tells the customer: a store that stopped answering is an outage to retry."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool
import pytest
import redis.exceptions

from api.turns.failures import STORE_MESSAGE, classify


@pytest.mark.parametrize(
    "error",
    [
        psycopg_pool.PoolTimeout("couldn't get a connection after 5.00 sec"),
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379"),
        redis.exceptions.TimeoutError("Timeout reading from 127.0.0.1:6379"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=type,
)
def test_a_store_that_does_not_answer_is_a_retryable_service_unavailable(error: Exception) -> None:
    failure = classify(error)
    assert (failure.code, failure.message, failure.retryable) == (
        "service_unavailable",
        STORE_MESSAGE,
        True,
    )
    assert failure.operator_message is None  # nothing on /health to fix: it passes


def test_a_sqlite_error_of_ours_stays_an_internal_error() -> None:
    assert classify(sqlite3.OperationalError("no such table: sessions")).code == "internal_error"
