"""LOG_FORMAT=json on a real server: the turn line and its fields, request ids, no customer text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.telemetry.logs import (
    CHATTY_LIBRARIES,
    UVICORN_ACCESS,
    configure_logging,
    session_hash,
)
from tests.support.app_server import ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import GroqStandIn

SECRET = "my phone is 305-555-0199 and my name is Zebulon Quartermaine"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged anywhere while the test runs, as the root handler formats it."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved_level = root.level
    saved_libraries = {
        name: logging.getLogger(name).level for name in (*CHATTY_LIBRARIES, UVICORN_ACCESS)
    }
    saved_formatters = {h: h.formatter for h in root.handlers}
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        for name, level in saved_libraries.items():
            logging.getLogger(name).setLevel(level)
        for other, formatter in saved_formatters.items():
            other.setFormatter(formatter)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def test_json_turn_line_has_its_fields_and_no_customer_text_even_at_debug(
    lex_server: ServerFactory, groq_standin: GroqStandIn, captured_logs: io.StringIO
) -> None:
    settings = {
        "model_provider": "auto",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": groq_standin.base_url,
        "log_format": "json",
        "log_level": "DEBUG",
    }
    with lex_server(**settings) as base_url:
        for query in (f"Hello, {SECRET}", f"What's the weather in Miami? {SECRET}"):
            response = httpx.post(
                f"{base_url}/query",
                json={"query": query, "session_id": "customer-42"},
                headers={"X-Request-ID": "edge-123"},
                timeout=30,
            )
            assert response.headers["x-request-id"] == "edge-123"
            assert response.status_code == 200

    records = json_lines(captured_logs)  # every line is JSON
    text = captured_logs.getvalue()
    assert "Zebulon" not in text and "305-555-0199" not in text
    assert "customer-42" not in text
    assert any(r["level"] == "DEBUG" for r in records)  # DEBUG really was on
    turns = [r for r in records if r.get("event") == "turn"]
    assert len(turns) == 2
    weather = turns[1]
    assert weather["session"] == session_hash("customer-42")
    assert weather["request_id"] == "edge-123"
    assert weather["model"] == "llama-3.3-70b-versatile"
    assert weather["tools"] == ["get_weather"]
    assert weather["outcome"] == "completed"
    assert weather["model_calls"] == 2
    assert weather["tokens_in"] > 0 and weather["tokens_out"] > 0
    assert 0 <= weather["first_chunk_ms"] <= weather["latency_ms"]
    assert {"time", "level", "logger", "message", "run_id", "queued_ms"} <= set(weather)
    requests = [r for r in records if r.get("event") == "request" and r["route"] == "/query"]
    assert [r["request_id"] for r in requests] == ["edge-123", "edge-123"]
    assert not [r for r in records if r["logger"] == UVICORN_ACCESS]  # raw paths stay out


def test_text_format_writes_plain_lines(captured_logs: io.StringIO) -> None:
    configure_logging("INFO", "text")
    logging.getLogger("lex.test").info("plain %s", "line")
    assert captured_logs.getvalue().rstrip().endswith("INFO lex.test: plain line")


def test_customer_text_consent_lets_library_debug_through(captured_logs: io.StringIO) -> None:
    configure_logging("DEBUG", "text")
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.INFO
    logging.getLogger("aiosqlite").setLevel(logging.NOTSET)
    configure_logging("DEBUG", "text", customer_text=True)
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.DEBUG
