"""Stops the work of a non-streaming answer when its client hangs up before it is ready.

A streaming answer notices a gone client when a write fails or sse-starlette's watcher sees
`http.disconnect`; a route that reads a long session before it answers writes nothing until the
end, so it would read on for nobody. `until_disconnected` runs that read as a task beside a watcher
of the request's ASGI `receive` channel, the way Starlette's own `StreamingResponse` listens for a
disconnect (`listen_for_disconnect`), and cancels the read as soon as `http.disconnect` arrives.
`Request.is_disconnected()` is not used: it only peeks at a message already waiting, so it must be
polled, and a poll between two awaits of the read would come late or not at all.

The read is cancelled at its next `await` (each checkpoint read is one), so what it holds (the
saver's lock, a pooled connection) is let go at once; the answer, 499 in nginx's tradition, goes
to nobody but is counted and logged like every other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

from starlette.requests import Request
from starlette.types import Receive

from api.errors import ApiError

logger = logging.getLogger(__name__)

CLIENT_CLOSED_REQUEST: Final = 499
"""The status nginx logs for a request whose client closed the connection before the answer."""

T = TypeVar("T")


async def _disconnected(receive: Receive) -> None:
    """Returns when the client has gone away; any other message (the empty body) is skipped."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _stop(task: asyncio.Future[Any]) -> None:
    """Cancels a task and waits for it to unwind (its `finally` blocks run before we go on)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def until_disconnected(request: Request, work: Awaitable[T], what: str) -> T:
    """Returns what `work` returns, unless the client hangs up first: then it cancels `work`.

    Call it only before anything of the answer is sent, and only from a route that does not read
    the request body (the watcher consumes the request's messages).

    Args:
        request: The request being answered.
        work: The expensive part of the answer (reads only: it may stop at any `await`).
        what: What the work is, for the log line, e.g. "checkpoint listing"; no customer text.

    Raises:
        ApiError: 499 when the client went away and the work was stopped.
    """
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    racing: set[asyncio.Future[Any]] = {task, watcher}
    try:
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this request itself is cancelled (shutdown): nothing is left running
        if not task.done():
            await _stop(task)
        await _stop(watcher)
    if task.cancelled():
        logger.info("stopped the %s: the client went away", what)
        raise ApiError(
            CLIENT_CLOSED_REQUEST,
            "client_closed_request",
            "The client went away before the answer was ready; nothing was sent.",
        )
    return task.result()
