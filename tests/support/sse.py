"""Two readers of an SSE byte stream: one by the spec, one the way the chat frontend reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event, per the HTML Living Standard's SSE parsing rules."""

    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


def parse_sse(body: str) -> list[SseEvent]:
    r"""Parses a complete stream by the spec: blank lines dispatch, data lines join with \n."""
    events: list[SseEvent] = []
    event_type, data_lines, last_id = "", [], None
    has_data = False
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == "":
            if has_data:
                events.append(SseEvent(event_type or "message", "\n".join(data_lines), last_id))
            event_type, data_lines, has_data = "", [], False
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event_type = value
        elif field == "data":
            data_lines.append(value)
            has_data = True
        elif field == "id":
            last_id = value
    return events


@dataclass(frozen=True)
class FrontendMessage:
    """What the chat frontend's reader hands to its handler: (event type, one data line)."""

    event: str
    data: str


def parse_like_frontend(body: str) -> list[FrontendMessage]:
    r"""Reads the stream as the frontend does: split on \n only, `event: ` and `data: ` prefixes."""
    messages: list[FrontendMessage] = []
    current = ""
    for line in body.split("\n"):
        if line.startswith("event: "):
            current = line[len("event: ") :]
        elif line.startswith("data: "):
            messages.append(FrontendMessage(current, line[len("data: ") :]))
    return messages
