"""Two readers of an SSE byte stream: by the spec (the clients' parser) and as the frontend does."""

from __future__ import annotations

from dataclasses import dataclass

from api.cli.sse import StreamEvent, parse_sse

SseEvent = StreamEvent
"""One event as the standard reads it (the clients' parser)."""

__all__ = ["FrontendMessage", "SseEvent", "parse_like_frontend", "parse_sse"]


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
