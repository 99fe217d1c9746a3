"""The connection pool: a connection that may have gone stale is checked, a busy one is not."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from checkpoints.postgres.pool import Connection, Pool, open_pool, ping


async def backend_pid(pool: Pool) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone()
    assert row is not None
    return int(row["pid"])


def terminate(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_connection_killed_while_idle_is_replaced_before_it_is_handed_out(
    postgres_url: str,
) -> None:
    async with open_pool(postgres_url, max_size=1, check_after_idle_s=0.05) as pool:
        killed = await backend_pid(pool)
        terminate(postgres_url, killed)  # as a database restart does
        await asyncio.sleep(0.2)
        await ping(pool)  # no error reaches the caller
        assert await backend_pid(pool) != killed


async def test_a_connection_used_moments_ago_is_handed_out_without_a_round_trip(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[Connection] = []
    check = AsyncConnectionPool.check_connection

    async def counting_check(conn: Connection) -> None:
        checked.append(conn)
        await check(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", counting_check)
    async with open_pool(postgres_url, max_size=1, check_after_idle_s=60) as pool:
        for _ in range(5):
            await ping(pool)
    assert len(checked) == 1  # its first hand-out only
