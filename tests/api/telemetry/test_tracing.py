"""Traces on a real server: OpenTelemetry spans reach an OTLP collector, LangSmith runs its API.

The collector and the LangSmith API are small loopback servers recording what they receive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.telemetry.tracing import open_tracing
from tests.support.app_server import ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import GroqStandIn

SECRET = "Zebulon Quartermaine"


class Recorder:
    """A loopback HTTP server that answers 200 `{}` and keeps every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append((self.command, self.path, body))
                payload = b"{}"
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, path_part: str, timeout_s: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [body for _, path, body in self.requests if path_part in path]
            if found:
                return found
            time.sleep(0.05)
        return []


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def on_groq(standin: GroqStandIn, **extra: Any) -> dict[str, Any]:
    return {
        "model_provider": "auto",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        **extra,
    }


def ask_weather(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/query",
        json={"query": f"What's the weather in Miami? I am {SECRET}", "session_id": "traced"},
        timeout=30,
    )
    assert response.status_code == 200


def test_nothing_is_traced_by_default() -> None:
    tracing = open_tracing(
        otlp_endpoint=None,
        service_name="lex",
        langsmith_api_key=None,
        langsmith_project=None,
        langsmith_endpoint=None,
    )
    assert not tracing.enabled
    assert tracing.callbacks("run") == []


def test_spans_nest_request_turn_model_and_tool_calls(
    lex_server: ServerFactory, groq_standin: GroqStandIn, recorder: Recorder
) -> None:
    with lex_server(**on_groq(groq_standin, otel_exporter_otlp_endpoint=recorder.url)) as url:
        ask_weather(url)
    # The server stopped: its tracer provider flushed every span.
    spans = []
    for body in recorder.wait_for("/v1/traces"):
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                spans.extend(scope.spans)
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    (request,) = by_name["POST /query"]
    (turn,) = by_name["turn"]
    models = by_name["model call"]
    (tool,) = by_name["tool get_weather"]
    assert len(models) == 2
    assert turn.parent_span_id == request.span_id
    for child in (*models, tool):
        assert child.parent_span_id == turn.span_id
        assert child.trace_id == request.trace_id
    attributes = {a.key: a.value for a in models[0].attributes}
    assert attributes["gen_ai.request.model"].string_value == "llama-3.3-70b-versatile"
    assert attributes["gen_ai.usage.input_tokens"].int_value > 0
    everything = b"".join(recorder.wait_for("/v1/traces"))
    assert SECRET.encode() not in everything and b"traced" not in everything


def test_langsmith_receives_the_turn_runs(
    lex_server: ServerFactory, groq_standin: GroqStandIn, recorder: Recorder
) -> None:
    settings = on_groq(
        groq_standin,
        langsmith_api_key="lsv2_test",
        langsmith_endpoint=recorder.url,
        langsmith_project="lex-tests",
    )
    with lex_server(**settings) as url:
        ask_weather(url)
        posted = recorder.wait_for("/runs")
    assert posted, [path for _, path, _ in recorder.requests]
    assert any(b"lex-tests" in body for body in posted)
