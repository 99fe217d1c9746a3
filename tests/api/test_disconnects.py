"""`until_disconnected`: the work's result, or the work cancelled when the client hangs up."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.types import Message

from api.disconnects import CLIENT_CLOSED_REQUEST, until_disconnected
from api.errors import ApiError


class Client:
    """The request's ASGI channel: the empty body first, then a disconnect once `hang_up()`."""

    def __init__(self) -> None:
        self._gone = asyncio.Event()
        self._sent_body = False

    def hang_up(self) -> None:
        self._gone.set()

    async def receive(self) -> Message:
        if not self._sent_body:
            self._sent_body = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    def request(self) -> Request:
        return Request({"type": "http", "method": "GET", "headers": []}, self.receive)


class Work:
    """A read that waits until released; notes whether it was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> str:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "read"


async def test_the_work_answers_when_the_client_stays() -> None:
    client, work = Client(), Work()
    work.release.set()

    assert await until_disconnected(client.request(), work(), "read") == "read"
    assert not work.cancelled


async def test_the_work_is_cancelled_when_the_client_hangs_up() -> None:
    client, work = Client(), Work()
    answer = asyncio.create_task(until_disconnected(client.request(), work(), "read"))
    await work.started.wait()

    client.hang_up()

    with pytest.raises(ApiError) as raised:
        await answer
    assert raised.value.status_code == CLIENT_CLOSED_REQUEST
    assert work.cancelled


async def test_a_failing_work_fails_the_answer() -> None:
    async def not_found() -> str:
        raise ApiError(404, "not_found", "No saved session.")

    with pytest.raises(ApiError, match="No saved session"):
        await until_disconnected(Client().request(), not_found(), "read")


async def test_cancelling_the_answer_cancels_the_work() -> None:
    client, work = Client(), Work()
    answer = asyncio.create_task(until_disconnected(client.request(), work(), "read"))
    await work.started.wait()

    answer.cancel()

    with pytest.raises(asyncio.CancelledError):
        await answer
    assert work.cancelled
