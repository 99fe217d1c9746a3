"""What a turn tells its client, independent of how it is written on the wire.

The graph's stream is translated into these events (`api.turns.translate`), and each stream format
renders them (`api.stream.sse`). Event names are the wire names the chat frontend parses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CHUNK = "chunk"
TOOL_USE = "tool_use"
TOOL_OUTPUT = "tool_output"
ERROR = "error"
END = "end"

ToolStatus = Literal["success", "error"]
TurnStatus = Literal["completed", "error", "cancelled"]


@dataclass(frozen=True)
class TextChunk:
    """A piece of the assistant's answer, as the model produced it."""

    text: str
    message_id: str | None


@dataclass(frozen=True)
class ToolUse:
    """The model asked for a tool call."""

    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolOutput:
    """A tool call finished.

    Attributes:
        output: The card payload, shaped per the wire contract for this tool (never None).
        error: The error text when `status` is "error".
    """

    id: str
    name: str
    output: Any
    status: ToolStatus
    error: str | None = None


@dataclass(frozen=True)
class TurnError:
    """The turn failed; `message` is safe to show to a customer."""

    code: str
    message: str
    retryable: bool


@dataclass(frozen=True)
class TurnEnd:
    """The last event of every turn."""

    status: TurnStatus
    session_id: str
    details: dict[str, Any] = field(default_factory=dict)


TurnEvent = TextChunk | ToolUse | ToolOutput | TurnError | TurnEnd


def event_name(event: TurnEvent) -> str:
    """Returns the SSE event name of a turn event."""
    match event:
        case TextChunk():
            return CHUNK
        case ToolUse():
            return TOOL_USE
        case ToolOutput():
            return TOOL_OUTPUT
        case TurnError():
            return ERROR
        case TurnEnd():
            return END
