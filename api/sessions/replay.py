"""The replay stream of a saved session: a `turn` event, then that turn's events, turn by turn.

The turn events are rendered by `api.stream.sse.to_sse`, exactly as `POST /query` renders them, in
either stream format. `turn` is the one event of its own: its data is one-line JSON `{"index",
"query"}` in both formats (the chat frontend ignores event types it does not know).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from sse_starlette import ServerSentEvent

from api.schemas.sessions import TurnStartPayload
from api.sessions.transcript import SavedTurn, replay_turn_events
from api.stream.sse import SSE_LINE_SEPARATOR, StreamFormat, one_line_json, to_sse

TURN = "turn"
"""Event name of the marker sent before each replayed turn."""

MAX_PACED_REPLAY_S = 60.0
"""Longest a paced replay spends pausing; what is left after it is sent without pauses."""


def turn_start_sse(turn: SavedTurn) -> ServerSentEvent:
    """Renders the `turn` event that opens a replayed turn."""
    payload = TurnStartPayload(index=turn.index, query=turn.query)
    return ServerSentEvent(
        data=one_line_json(payload.model_dump()), event=TURN, sep=SSE_LINE_SEPARATOR
    )


async def replay_sse(
    turns: Sequence[SavedTurn],
    *,
    session_id: str,
    thread_id: str,
    stream_format: StreamFormat,
    pace_s: float = 0.0,
    max_paced_s: float | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Yields a saved session's turns as Server-Sent Events.

    Args:
        turns: The saved turns, read before streaming starts.
        session_id: The session (carried by each `end`).
        thread_id: Its thread (carried by each `end`).
        stream_format: text (the chat frontend's format) or json.
        pace_s: Pause before each event after the first, to watch a conversation unfold.
        max_paced_s: Longest a paced replay pauses in all (default `MAX_PACED_REPLAY_S`); the
            rest is sent at once, so a paced replay cannot hold a connection for hours.
    """
    first = True
    deadline = time.monotonic() + (MAX_PACED_REPLAY_S if max_paced_s is None else max_paced_s)
    for turn in turns:
        events = [turn_start_sse(turn)]
        events.extend(
            to_sse(event, stream_format)
            for event in replay_turn_events(turn, session_id, thread_id)
        )
        for event in events:
            if pace_s and not first and time.monotonic() < deadline:
                await asyncio.sleep(pace_s)
            first = False
            yield event
