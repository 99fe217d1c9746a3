"""Follows a running (or finished) turn as an SSE response, from any event on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from api.stream.sse import SSE_LINE_SEPARATOR, StreamFormat, to_sse
from api.turns.coordination.base import TurnFeed

KEEPALIVE_PING_S = 15
STREAM_HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-cache"}


def follow_run(run: TurnFeed, stream_format: StreamFormat, start: int = 0) -> EventSourceResponse:
    """Returns the SSE response of `run` from event `start` on; each event carries its id."""

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for sequence, event in run.follow(start):
            yield to_sse(event, stream_format, event_id=run.event_id(sequence))

    return EventSourceResponse(
        events(), sep=SSE_LINE_SEPARATOR, ping=KEEPALIVE_PING_S, headers=STREAM_HEADERS
    )
