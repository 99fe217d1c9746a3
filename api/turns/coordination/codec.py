"""Turn events as JSON, so a turn running on one replica can be followed from another."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from api.stream.events import (
    TextChunk,
    ToolOutput,
    ToolUse,
    TurnEnd,
    TurnError,
    TurnEvent,
    event_name,
)

EVENT_TYPES: dict[str, type[TurnEvent]] = {
    event_name(sample): type(sample)
    for sample in (
        TextChunk(text="", message_id=None),
        ToolUse(id="", name="", args={}),
        ToolOutput(id="", name="", output=None, status="success"),
        TurnError(code="", message="", retryable=False),
        TurnEnd(status="completed", session_id=""),
    )
}
TYPE_KEY = "type"


def encode_event(event: TurnEvent) -> str:
    """Returns the event as one JSON object, its wire name under `type`."""
    fields: dict[str, Any] = dataclasses.asdict(event)
    return json.dumps({TYPE_KEY: event_name(event), **fields}, default=str)


def decode_event(payload: str | bytes) -> TurnEvent:
    """Returns the event `encode_event` wrote.

    Raises:
        ValueError: The payload is not an encoded turn event.
    """
    fields = json.loads(payload)
    kind = EVENT_TYPES.get(fields.pop(TYPE_KEY, None)) if isinstance(fields, dict) else None
    if kind is None:
        raise ValueError(f"not a turn event: {payload!r:.80}")
    return kind(**fields)
