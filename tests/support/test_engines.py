"""The engine fixtures hand each test its own empty schema and key prefix, and clean them up."""

from __future__ import annotations

import psycopg
import redis

from tests.support.engines import SCHEMA_PREFIX, with_search_path


def test_each_test_gets_an_empty_schema_of_its_own(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
        assert schema is not None and schema[0].startswith(SCHEMA_PREFIX)
        conn.execute("CREATE TABLE scratch (n int)")
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema[0],),
        ).fetchall()
    assert tables == [("scratch",)]


def test_search_path_replaces_any_earlier_options() -> None:
    url = with_search_path("postgresql://u@h:5432/db?options=-cfoo%3Dbar&sslmode=disable", "s1")
    assert "sslmode=disable" in url
    assert "options=-csearch_path%3Ds1" in url
    assert "foo" not in url


def test_each_test_gets_a_key_prefix_of_its_own(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(match=f"{redis_prefix}*"))
        client.set(f"{redis_prefix}probe", "1")
        assert client.get(f"{redis_prefix}probe") == b"1"
    finally:
        client.close()
