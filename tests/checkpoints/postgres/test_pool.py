"""The connection pool: a stale connection is checked, a busy one is not; outages stay short."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from checkpoints.postgres.pool import Connection, Pool, open_pool, ping
from tests.support.tcp_forwarder import tcp_forwarder


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


async def hold_connections(pool: Pool, count: int) -> None:
    """Makes the pool open `count` connections, by holding them all at once."""
    async with AsyncExitStack() as stack:
        for _ in range(count):
            await stack.enter_async_context(pool.connection())


async def test_after_a_database_restart_the_first_caller_gets_a_working_connection(
    postgres_url: str,
) -> None:
    with tcp_forwarder(postgres_url) as database:
        async with open_pool(
            database.url(postgres_url), max_size=4, timeout_s=5, check_after_idle_s=0.05
        ) as pool:
            await hold_connections(pool, 4)
            database.drop()  # a restart: every connection closed, nothing asked meanwhile
            database.forward()
            await asyncio.sleep(0.2)
            # Four stale connections, checked one after the other with psycopg_pool's pauses
            # between failed checks (1, 2, 4 s), would outlast the 5 s: all are checked at once.
            await ping(pool)


async def test_while_the_database_is_down_a_caller_waits_the_timeout_then_gets_an_error(
    postgres_url: str,
) -> None:
    with tcp_forwarder(postgres_url) as database:
        async with open_pool(database.url(postgres_url), timeout_s=1, check_after_idle_s=0) as pool:
            await ping(pool)
            database.drop()
            with pytest.raises(PoolTimeout, match=r"after 1\.00 sec"):  # not psycopg_pool's 30
                await ping(pool)


async def test_the_first_caller_after_a_long_outage_gets_a_connection(
    postgres_url: str,
) -> None:
    with tcp_forwarder(postgres_url) as database:
        async with open_pool(database.url(postgres_url), timeout_s=1) as pool:
            await ping(pool)
            database.drop()
            for _ in range(2):
                with pytest.raises(psycopg.OperationalError):
                    await ping(pool)
            await asyncio.sleep(2.5)
            database.forward()
            # psycopg_pool's own attempts (at 0, 1, 3, 7 s... of the outage) would leave this
            # caller waiting for the next one; the pool's attempts have given up, so its request
            # starts one at once.
            await ping(pool)


async def test_the_start_waits_for_a_database_that_comes_up_late(postgres_url: str) -> None:
    with tcp_forwarder(postgres_url) as database:
        database.drop()
        asyncio.get_running_loop().call_later(2.5, database.forward)
        async with open_pool(database.url(postgres_url), timeout_s=1, open_timeout_s=20) as pool:
            await ping(pool)


async def test_the_start_gives_up_on_a_database_that_never_answers(postgres_url: str) -> None:
    with tcp_forwarder(postgres_url) as database:
        database.drop()
        with pytest.raises(PoolTimeout):
            async with open_pool(database.url(postgres_url), timeout_s=1, open_timeout_s=2):
                pass


async def test_connections_notice_a_silently_dropped_peer_within_a_minute(
    postgres_url: str,
) -> None:
    # Without TCP keepalives a connection the network dropped would hang a query for ~15 minutes.
    async with open_pool(postgres_url, max_size=1) as pool, pool.connection() as conn:
        parameters = conn.info.get_parameters()
    assert parameters["keepalives"] == "1"
    assert int(parameters["keepalives_idle"]) + 3 * int(parameters["keepalives_interval"]) <= 60
    assert int(parameters["tcp_user_timeout"]) <= 60_000


async def test_the_urls_own_tcp_settings_win(postgres_url: str) -> None:
    separator = "&" if "?" in postgres_url else "?"
    async with (
        open_pool(f"{postgres_url}{separator}keepalives_idle=7", max_size=1) as pool,
        pool.connection() as conn,
    ):
        assert conn.info.get_parameters()["keepalives_idle"] == "7"
