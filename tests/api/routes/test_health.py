"""`GET /health`: what a part that does not answer makes of the status."""

from __future__ import annotations

import logging

import pytest

from api.routes.health import probe


async def test_a_part_that_answers_is_ok_and_one_that_fails_is_named_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def answers() -> None:
        return None

    async def refuses() -> None:
        raise ConnectionRefusedError("connection refused on 127.0.0.1:1")

    with caplog.at_level(logging.WARNING, logger="api.routes.health"):
        assert await probe("database", answers) == "ok"
        assert await probe("coordination", refuses) == "unreachable: ConnectionRefusedError"

    assert [record.getMessage() for record in caplog.records] == [
        "coordination health check failed: connection refused on 127.0.0.1:1"
    ]
