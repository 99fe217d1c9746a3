r"""Writes turn events as Server-Sent Events in the two stream formats.

`text` is the wire contract of the existing chat frontend (`chunk` data is raw text, `tool_use` the
bare tool name, `tool_output` one-line JSON with `name` and `output`, `end` an empty data line).
`json` carries the same event names with a one-line JSON object in every `data:`, with ids.
Lines end in `\n` only: the frontend splits on `\n` and would show a stray `\r`.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from sse_starlette import ServerSentEvent

from api.stream.events import (
    TextChunk,
    ToolOutput,
    ToolUse,
    TurnEnd,
    TurnError,
    TurnEvent,
    event_name,
)

SSE_LINE_SEPARATOR = "\n"
LINE_BREAKS = re.compile(r"\r\n|\r|\n")


class StreamFormat(StrEnum):
    """How `POST /query` writes its events."""

    TEXT = "text"
    JSON = "json"


def one_line_json(value: Any) -> str:
    """Serializes to JSON on a single line (json.dumps escapes newlines inside strings)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def text_data(event: TurnEvent) -> str:
    """Returns the `data:` of an event in the frontend's `text` format."""
    match event:
        case TextChunk(text=text):
            # Several `data:` lines would reach the page glued together: keep the word break.
            return LINE_BREAKS.sub(" ", text)
        case ToolUse(name=name):
            return name
        case ToolOutput(name=name, output=output):
            return one_line_json({"name": name, "output": output})
        case TurnError(code=code, message=message, retryable=retryable):
            return one_line_json({"code": code, "message": message, "retryable": retryable})
        case TurnEnd():
            return ""


def json_payload(event: TurnEvent) -> dict[str, Any]:
    """Returns the object carried by an event in the `json` format."""
    match event:
        case TextChunk(text=text, message_id=message_id):
            return {"text": text, "message_id": message_id}
        case ToolUse(id=call_id, name=name, args=args):
            return {"id": call_id, "name": name, "args": args}
        case ToolOutput(id=call_id, name=name, output=output, status=status, error=error):
            payload: dict[str, Any] = {"id": call_id, "name": name, "output": output}
            payload["status"] = status
            if error is not None:
                payload["error"] = error
            return payload
        case TurnError(code=code, message=message, retryable=retryable):
            return {"code": code, "message": message, "retryable": retryable}
        case TurnEnd(status=status, session_id=session_id, details=details):
            return {"status": status, "session_id": session_id, **details}


def to_sse(
    event: TurnEvent, stream_format: StreamFormat, event_id: str | None = None
) -> ServerSentEvent:
    """Renders one turn event as a Server-Sent Event."""
    if stream_format is StreamFormat.TEXT:
        data = text_data(event)
    else:
        data = one_line_json(json_payload(event))
    return ServerSentEvent(data=data, event=event_name(event), id=event_id, sep=SSE_LINE_SEPARATOR)
