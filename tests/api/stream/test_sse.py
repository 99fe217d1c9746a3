"""The two stream formats, byte for byte where the chat frontend depends on it."""

from __future__ import annotations

import json

from api.stream.events import TextChunk, ToolOutput, ToolUse, TurnEnd, TurnError
from api.stream.sse import StreamFormat, to_sse


def text_bytes(event: object) -> bytes:
    return to_sse(event, StreamFormat.TEXT).encode()  # type: ignore[arg-type]


def test_text_chunk_is_raw_text_with_its_leading_space() -> None:
    assert text_bytes(TextChunk(" world", "m1")) == b"event: chunk\ndata:  world\n\n"


def test_text_chunk_newlines_become_spaces_not_extra_data_lines() -> None:
    assert (
        text_bytes(TextChunk("one\r\ntwo\nthree", None)) == b"event: chunk\ndata: one two three\n\n"
    )


def test_tool_use_is_the_bare_name() -> None:
    assert text_bytes(ToolUse("c1", "get_weather", {"city": "Miami"})) == (
        b"event: tool_use\ndata: get_weather\n\n"
    )


def test_tool_output_is_one_line_json_with_name_and_output() -> None:
    card = {"availableTimes": ["09:00", "10:00"], "note": "line1\nline2"}
    raw = text_bytes(ToolOutput("c1", "check_appointment_availability", card, "success"))
    lines = raw.decode().split("\n")
    assert lines[0] == "event: tool_output"
    assert lines[1].startswith("data: ") and lines[2] == "" and lines[3] == ""
    assert json.loads(lines[1][len("data: ") :]) == {
        "name": "check_appointment_availability",
        "output": card,
    }


def test_end_has_an_empty_data_line() -> None:
    assert text_bytes(TurnEnd("completed", "s1")) == b"event: end\ndata: \n\n"


def test_error_event_is_json_in_both_formats() -> None:
    error = TurnError("rate_limited", "Busy, try again.", True)
    for stream_format in StreamFormat:
        raw = to_sse(error, stream_format).encode().decode()
        data = raw.split("\n")[1][len("data: ") :]
        assert json.loads(data) == {
            "code": "rate_limited",
            "message": "Busy, try again.",
            "retryable": True,
        }


def test_json_format_carries_ids_args_and_status() -> None:
    def payload(event: object) -> object:
        raw = to_sse(event, StreamFormat.JSON, event_id="7").encode().decode()  # type: ignore[arg-type]
        assert raw.startswith("id: 7\n")
        return json.loads(raw.split("\n")[2][len("data: ") :])

    assert payload(TextChunk("Hi", "m1")) == {"text": "Hi", "message_id": "m1"}
    assert payload(ToolUse("c1", "get_weather", {"city": "Miami"})) == {
        "id": "c1",
        "name": "get_weather",
        "args": {"city": "Miami"},
    }
    assert payload(ToolOutput("c1", "get_weather", "Boom", "error", "Boom")) == {
        "id": "c1",
        "name": "get_weather",
        "output": "Boom",
        "status": "error",
        "error": "Boom",
    }
    assert payload(TurnEnd("completed", "s1", {"run_id": "r"})) == {
        "status": "completed",
        "session_id": "s1",
        "run_id": "r",
    }
