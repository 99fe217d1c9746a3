"""`GET /metrics` on a real server: the numbers move with turns, failures, fallbacks and bookings.

Model calls go through the real ChatGroq client to the stand-in Groq server, scripted per test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import (
    ENTERPRISE_CATALOG,
    TODAY_CATALOG,
    Error,
    GroqStandIn,
    Text,
    ToolCall,
    ToolCalls,
)
from tests.support.metrics import Scrape, moved, scrape
from tests.support.sse import parse_sse

PRIMARY = "llama-3.3-70b-versatile"
FALLBACK = "llama-3.1-8b-instant"
GPT_OSS_120B = "openai/gpt-oss-120b"
BOOK_MIAMI = {
    "dealership_id": "miami",
    "date": "2026-11-26",
    "time": "10:00",
    "car_model": "SuperCar GT",
}


def groq_metrics_settings(standin: GroqStandIn, **extra: Any) -> dict[str, Any]:
    return {
        "model_provider": "auto",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        **extra,
    }


def ask(base_url: str, query: str, session_id: str) -> list[Any]:
    body = {"query": query, "session_id": session_id, "stream_format": "json"}
    response = httpx.post(f"{base_url}/query", json=body, timeout=30)
    assert response.status_code == 200
    return parse_sse(response.text)


def test_metrics_enabled_false_removes_the_route(lex_server: ServerFactory) -> None:
    with lex_server(metrics_enabled=False) as base_url:
        assert httpx.get(f"{base_url}/metrics", headers=OPERATOR).status_code == 404


def test_requests_refused_by_a_limit_are_counted(lex_server: ServerFactory) -> None:
    settings = {"query_rate_limit": "1/minute", "max_running_turns": 1}
    with lex_server(offline_token_delay_s=0.05, **settings) as base_url:
        before = scrape(base_url)
        body = {"query": "hello", "session_id": "metrics-limited"}
        assert httpx.post(f"{base_url}/query", json=body, timeout=30).status_code == 200
        refused = httpx.post(f"{base_url}/query", json=body, timeout=30)
        after_429 = scrape(base_url)
        # The operator passes the rate limit, then meets the cap on running turns.
        with httpx.stream(
            "POST", f"{base_url}/query", json={**body, "session_id": "long"}, headers=OPERATOR
        ) as running:
            assert running.status_code == 200
            busy = httpx.post(
                f"{base_url}/query", json={**body, "session_id": "other"}, headers=OPERATOR
            )
            running.read()
        after_503 = scrape(base_url)
    assert refused.status_code == 429 and busy.status_code == 503
    route = {"route": "/query"}
    assert moved(before, after_429, "lex_rate_limited_requests_total", status="429", **route) == 1
    assert moved(before, after_429, "lex_http_requests_total", status="429", **route) == 1
    assert (
        moved(after_429, after_503, "lex_rate_limited_requests_total", status="503", **route) == 1
    )


def test_turns_tools_tokens_and_bookings_move_the_metrics(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    with lex_server(**groq_metrics_settings(groq_standin)) as base_url:
        before = scrape(base_url)
        ask(base_url, "What's the weather in Miami?", "metrics-1")  # auto: get_weather, then text
        groq_standin.script(
            ToolCalls([ToolCall("schedule_appointment", BOOK_MIAMI)]), Text("Booked!")
        )
        booked = ask(base_url, "Book the GT at Miami", "metrics-1")
        card = next(e.json()["output"] for e in booked if e.event == "tool_output")
        groq_standin.script(
            ToolCalls(
                [ToolCall("cancel_appointment", {"confirmation_id": card["confirmation_id"]})]
            ),
            Text("Cancelled."),
        )
        ask(base_url, "Cancel it", "metrics-1")
        groq_standin.script(
            ToolCalls([ToolCall("schedule_appointment", {**BOOK_MIAMI, "time": "03:00"})]),
            Text("That time is not available."),
        )
        ask(base_url, "Book the GT at 3 in the night", "metrics-1")
        groq_standin.script(
            ToolCalls([ToolCall("schedule_appointment", BOOK_MIAMI)]), Text("Booked!")
        )
        again = ask(base_url, "Book the GT at Miami again", "metrics-1")
        card = next(e.json()["output"] for e in again if e.event == "tool_output")
        move = {**BOOK_MIAMI, "time": "11:00", "replaces": card["confirmation_id"]}
        groq_standin.script(ToolCalls([ToolCall("schedule_appointment", move)]), Text("Moved."))
        ask(base_url, "Make it 11 instead", "metrics-1")  # a move: one booking, one cancellation
        after = scrape(base_url)

    assert moved(before, after, "lex_turns_total", outcome="completed") == 6
    assert moved(before, after, "lex_tool_calls_total", tool="get_weather", status="success") == 1
    assert (
        moved(before, after, "lex_tool_calls_total", tool="schedule_appointment", status="error")
        == 1
    )
    assert moved(before, after, "lex_bookings_total", action="made") == 3
    assert moved(before, after, "lex_bookings_total", action="cancelled") == 2
    assert moved(before, after, "lex_model_calls_total", model=PRIMARY, status="ok") == 12
    assert moved(before, after, "lex_model_tokens_total", model=PRIMARY, direction="input") > 100
    assert moved(before, after, "lex_model_tokens_total", model=PRIMARY, direction="output") > 4
    assert moved(before, after, "lex_turn_first_chunk_seconds_count") == 6
    assert moved(before, after, "lex_turn_seconds_count") == 6
    assert moved(before, after, "lex_http_requests_total", route="/query", status="200") == 6
    assert after.value("lex_turns_running") == 0


def test_failures_fallbacks_and_tool_use_failed_are_counted_by_model_and_status(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    settings = groq_metrics_settings(groq_standin, model_fallbacks=FALLBACK)
    with lex_server(**settings) as base_url:
        before = scrape(base_url)
        groq_standin.script(Error.rate_limited(), Text("From the fallback."))
        ask(base_url, "hello", "metrics-fallback")
        groq_standin.script(Error.tool_use_failed(), Text("Second try worked."))
        ask(base_url, "hello again", "metrics-fallback")
        groq_standin.script(Error.service_unavailable(), Error.service_unavailable())
        failed = ask(base_url, "anyone there?", "metrics-fallback")
        after = scrape(base_url)

    assert failed[-1].json()["status"] == "error"
    assert moved(before, after, "lex_model_calls_total", model=PRIMARY, status="429") == 1
    assert moved(before, after, "lex_model_calls_total", model=FALLBACK, status="fallback") == 1
    assert (
        moved(before, after, "lex_model_calls_total", model=PRIMARY, status="tool_use_failed") == 1
    )
    assert moved(before, after, "lex_model_calls_total", model=PRIMARY, status="ok") == 1
    assert moved(before, after, "lex_model_calls_total", model=PRIMARY, status="5xx") == 1
    assert moved(before, after, "lex_model_calls_total", model=FALLBACK, status="5xx") == 1
    assert moved(before, after, "lex_turns_total", outcome="completed") == 2
    assert moved(before, after, "lex_turns_total", outcome="model_unavailable") == 1


def test_a_retired_model_answers_as_a_substitution(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    settings = groq_metrics_settings(groq_standin, model_name="llama3-70b-8192")
    with lex_server(**settings) as base_url:
        before = scrape(base_url)
        ask(base_url, "hello", "metrics-substitution")
        after = scrape(base_url)
    assert moved(before, after, "lex_model_calls_total", model=PRIMARY, status="substitution") == 1


def wait_for_scrape(
    base_url: str, ready: Callable[[Scrape], bool], timeout_s: float = 3.0
) -> Scrape:
    """Scrapes until `ready` holds (or the time is up); returns the last scrape."""
    deadline = time.monotonic() + timeout_s
    while True:
        scraped = scrape(base_url)
        if ready(scraped) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.05)


def test_running_and_queued_turns_are_gauges(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    settings = groq_metrics_settings(groq_standin, on_busy="enqueue")
    # The first answer stays open long enough for a loaded machine to queue the second message.
    groq_standin.script(Text("Slow answer.", first_token_delay_s=4.0), Text("Next one."))
    with lex_server(**settings) as base_url:
        threads = [
            threading.Thread(target=ask, args=(base_url, query, "metrics-busy"))
            for query in ("first", "second")
        ]
        threads[0].start()
        during = wait_for_scrape(base_url, lambda s: s.value("lex_turns_running") == 1)
        threads[1].start()
        during = wait_for_scrape(base_url, lambda s: s.value("lex_turns_queued") == 1)
        for thread in threads:
            thread.join(timeout=30)
        after = scrape(base_url)
    assert during.value("lex_turns_running") == 1
    assert during.value("lex_turns_queued") == 1
    assert after.value("lex_turns_running") == 0
    assert after.value("lex_turns_queued") == 0


@pytest.mark.parametrize("given", ["lb-7f3a9c", "a" * 200, "bad id with spaces"])
def test_every_answer_carries_a_request_id(lex_url: str, given: str) -> None:
    response = httpx.get(f"{lex_url}/health", headers={"X-Request-ID": given})
    returned = response.headers["x-request-id"]
    if given == "lb-7f3a9c":
        assert returned == given
    else:
        assert returned != given and len(returned) == 32


def test_a_model_retired_mid_deployment_counts_a_substitution_and_a_fallback(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    with lex_server(**groq_metrics_settings(groq_standin)) as base_url:
        ask(base_url, "hello", "metrics-retire")
        before = scrape(base_url)
        groq_standin.serve_models(TODAY_CATALOG)  # Groq retires Llama for this account
        ask(base_url, "hello again", "metrics-retire")
        ask(base_url, "and again", "metrics-retire")
        after = scrape(base_url)
    gone = {"from_model": PRIMARY, "to_model": GPT_OSS_120B}
    assert moved(before, after, "lex_model_switches_total", kind="substitution", **gone) == 1
    assert moved(before, after, "lex_model_switches_total", kind="fallback", **gone) == 1
    calls = {
        (PRIMARY, "model_not_found"): 1,
        (GPT_OSS_120B, "fallback"): 1,
        (GPT_OSS_120B, "substitution"): 1,
    }
    for (model, status), count in calls.items():
        assert moved(before, after, "lex_model_calls_total", model=model, status=status) == count
    assert moved(before, after, "lex_turns_total", outcome="completed") == 2
