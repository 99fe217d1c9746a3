"""Follows a running (or finished) turn as an SSE response, from any event on.

A server that stops (a deploy, a restart) must not cut an answer without `end`: the chat frontend
keeps its input disabled until `end` arrives. When uvicorn starts shutting down, sse-starlette sets
`shutdown_event`; the stream then keeps following the turn for the shutdown grace period and, if the
turn is still running, closes with a polite chunk, a retryable `error` and `end` of its own. The
turn itself is stopped and its history repaired by the lifespan's shutdown right after, so the
next message on the session (to any replica) works.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.stream.events import TextChunk, TurnEnd, TurnError, TurnEvent
from api.stream.sse import SSE_LINE_SEPARATOR, StreamFormat, to_sse
from api.turns.coordination.base import TurnFeed

KEEPALIVE_PING_S = 15
STREAM_HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-cache"}
SHUTDOWN_MARGIN_S = 1.0
"""Extra time sse-starlette waits, beyond the grace, for the stream to write its closing events."""
RESTARTING = "restarting"
RESTARTING_REPLY = (
    " Sorry, Lex is restarting right now. Please send your message again in a moment."
)


def restart_events(session_id: str) -> list[TurnEvent]:
    """The events that close a stream cut by a shutdown: text, a retryable error, `end`."""
    return [
        TextChunk(text=RESTARTING_REPLY, message_id=""),
        TurnError(code=RESTARTING, message=RESTARTING_REPLY.strip(), retryable=True),
        TurnEnd(status="error", session_id=session_id),
    ]


async def follow_until_shutdown(
    run: TurnFeed, start: int, shutdown: anyio.Event, grace_s: float
) -> AsyncIterator[tuple[int, TurnEvent]]:
    """Yields the turn's (sequence, event) pairs; after a shutdown starts, for `grace_s` more.

    When the grace runs out before the turn's `end`, it stops yielding: the caller closes.
    """
    events = run.follow(start).__aiter__()
    loop = asyncio.get_running_loop()
    shutdown_wait: asyncio.Future[Any] = asyncio.ensure_future(shutdown.wait())
    next_event: asyncio.Future[Any] | None = None
    deadline: float | None = None
    try:
        while True:
            if next_event is None:
                next_event = asyncio.ensure_future(events.__anext__())
            waiting = {next_event} if deadline is not None else {next_event, shutdown_wait}
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when="FIRST_COMPLETED")
            if next_event in done:
                finished, next_event = next_event, None
                try:
                    item: tuple[int, TurnEvent] = finished.result()
                except StopAsyncIteration:
                    return
                yield item
            elif deadline is None and shutdown_wait in done:
                deadline = loop.time() + grace_s
            else:
                return  # the grace is over and the turn still runs
    finally:
        shutdown_wait.cancel()
        if next_event is not None:
            next_event.cancel()


def follow_run(
    run: TurnFeed,
    stream_format: StreamFormat,
    start: int = 0,
    *,
    session_id: str = "",
    shutdown_grace_s: float = 0.0,
) -> EventSourceResponse:
    """Returns the SSE response of `run` from event `start` on; each event carries its id.

    Args:
        run: The turn to follow.
        stream_format: `text` (the chat frontend's contract) or `json`.
        start: The first event to send (a rejoin's first missed event).
        session_id: The session, named in the closing `end` of a stream cut by a shutdown.
        shutdown_grace_s: How long the stream keeps following after the server starts stopping.
    """
    shutdown = anyio.Event()

    async def events() -> AsyncIterator[ServerSentEvent]:
        ended = False
        async for sequence, event in follow_until_shutdown(run, start, shutdown, shutdown_grace_s):
            yield to_sse(event, stream_format, event_id=run.event_id(sequence))
            ended = isinstance(event, TurnEnd)
        if ended:
            return
        if shutdown.is_set():
            for event in restart_events(session_id):
                yield to_sse(event, stream_format)
        else:  # the turn's events are gone (expired): nothing to resend, but `end` comes last
            yield to_sse(TurnEnd(status="error", session_id=session_id), stream_format)

    return EventSourceResponse(
        events(),
        sep=SSE_LINE_SEPARATOR,
        ping=KEEPALIVE_PING_S,
        headers=STREAM_HEADERS,
        shutdown_event=shutdown,
        shutdown_grace_period=shutdown_grace_s + SHUTDOWN_MARGIN_S,
    )
