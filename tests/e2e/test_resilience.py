"""Turns that survive disconnects, Groq failures, double sends and shutdowns, losing nothing.

Each scenario drives the real app on a real uvicorn server through the real ChatGroq client and
the stand-in Groq server, scripted to fail on cue. After each, the next turn on the same session
must succeed and the model must see every earlier user message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import (
    DropMidStream,
    Error,
    GroqStandIn,
    Stall,
    Text,
    ToolCall,
    ToolCalls,
)
from tests.support.sse import SseEvent, parse_sse

SLOW_ANSWER = Text(" ".join(f"word{i}" for i in range(40)), token_delay_s=0.05)


def groq(standin: GroqStandIn, **extra: Any) -> dict[str, Any]:
    """Settings on the stand-in; one model and no fallbacks unless a test names some."""
    return {
        "model_provider": "groq",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        "model_fallbacks": "none",
        **extra,
    }


def post(base_url: str, query: str, session_id: str, **extra: Any) -> httpx.Response:
    body = {"query": query, "session_id": session_id, "stream_format": "json", **extra}
    return httpx.post(f"{base_url}/query", headers=OPERATOR, json=body, timeout=30)


def events_of(response: httpx.Response) -> list[SseEvent]:
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def answer(events: list[SseEvent]) -> str:
    return "".join(e.json()["text"] for e in events if e.event == "chunk")


def user_messages_sent(standin: GroqStandIn) -> list[str]:
    return [m["content"] for m in standin.chat_requests[-1].messages if m["role"] == "user"]


def assert_session_goes_on(
    base_url: str, session_id: str, standin: GroqStandIn, said: list[str]
) -> None:
    """The next turn works and the model sees every earlier user message, in order."""
    standin.script(Text("Back on track."))
    events = events_of(post(base_url, "still there?", session_id))
    assert events[-1].event == "end" and events[-1].json()["status"] == "completed"
    assert answer(events) == "Back on track."
    assert user_messages_sent(standin) == [*said, "still there?"]


@contextmanager
def partial_stream(base_url: str, query: str, session_id: str) -> Iterator[Iterator[SseEvent]]:
    """Opens a POST /query stream and yields its events as they arrive; leaving closes it."""
    body = {"query": query, "session_id": session_id, "stream_format": "json"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{base_url}/query", headers=OPERATOR, json=body) as response,
    ):
        assert response.status_code == 200

        def events() -> Iterator[SseEvent]:
            buffer = ""
            for text in response.iter_text():
                buffer += text
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    yield from parse_sse(block + "\n\n")

        yield events()


def wait_for_end(base_url: str, session_id: str) -> list[SseEvent]:
    response = httpx.get(
        f"{base_url}/sessions/{session_id}/stream",
        headers=OPERATOR,
        params={"stream_format": "json"},
        timeout=30,
    )
    return events_of(response)


# --- disconnects -------------------------------------------------------------------------


def test_disconnect_during_a_slow_answer_still_completes_and_saves_it(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(SLOW_ANSWER)
    with lex_server(**groq(groq_standin)) as base_url:
        with partial_stream(base_url, "tell me a story", "s-drop") as events:
            first = [next(events) for _ in range(3)]
        assert all(e.event == "chunk" for e in first)
        rejoined = wait_for_end(base_url, "s-drop")
        assert rejoined[-1].json()["status"] == "completed"
        assert answer(rejoined) == SLOW_ANSWER.text
        assert_session_goes_on(base_url, "s-drop", groq_standin, ["tell me a story"])
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == [SLOW_ANSWER.text]


def test_disconnect_during_a_tool_call_still_runs_the_tool_and_answers(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(
        ToolCalls([ToolCall("get_weather", {"city": "Miami"})]),
        Text("Sunny in Miami, perfect for a test drive.", first_token_delay_s=0.3),
    )
    with lex_server(**groq(groq_standin)) as base_url:
        with partial_stream(base_url, "weather in Miami?", "s-drop-tool") as events:
            assert next(events).event == "tool_use"
        rejoined = wait_for_end(base_url, "s-drop-tool")
        assert [e.event for e in rejoined][:2] == ["tool_use", "tool_output"]
        assert answer(rejoined) == "Sunny in Miami, perfect for a test drive."
        assert_session_goes_on(base_url, "s-drop-tool", groq_standin, ["weather in Miami?"])
    roles = [m["role"] for m in groq_standin.chat_requests[-1].messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]


def test_rejoin_with_last_event_id_replays_only_what_was_missed(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Text("one two three four five six"))
    with lex_server(**groq(groq_standin)) as base_url:
        full = events_of(post(base_url, "count", "s-rejoin"))
        ids = [e.id for e in full]
        assert all(ids) and len(set(ids)) == len(ids)
        missed = httpx.get(
            f"{base_url}/sessions/s-rejoin/stream",
            params={"stream_format": "json"},
            headers={**OPERATOR, "Last-Event-ID": ids[2]},
            timeout=30,
        )
        unknown = httpx.get(f"{base_url}/sessions/nobody/stream", headers=OPERATOR)
    assert [e.id for e in events_of(missed)] == ids[3:]
    assert unknown.status_code == 404


# --- cancel ------------------------------------------------------------------------------


def test_cancel_stops_the_turn_and_keeps_what_was_shown(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(SLOW_ANSWER)
    with lex_server(**groq(groq_standin)) as base_url:
        with partial_stream(base_url, "a long answer please", "s-cancel") as events:
            shown = [next(events) for _ in range(3)]
            cancelled = httpx.post(f"{base_url}/sessions/s-cancel/cancel", headers=OPERATOR)
            rest = list(events)
        assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
        assert rest[-1].event == "end" and rest[-1].json()["status"] == "cancelled"
        seen = answer(shown + rest)
        assert seen.startswith("word0 word1 word2") and len(seen) < len(SLOW_ANSWER.text)
        nothing = httpx.post(f"{base_url}/sessions/s-cancel/cancel", headers=OPERATOR)
        assert nothing.status_code == 409
        assert_session_goes_on(base_url, "s-cancel", groq_standin, ["a long answer please"])
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == [seen.strip()]


# --- Groq failures -----------------------------------------------------------------------


def test_rate_limit_then_success_is_retried_honouring_retry_after(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Error.rate_limited(retry_after_s=0.2), Text("Here I am."))
    with lex_server(**groq(groq_standin, model_max_retries=2)) as base_url:
        started = time.monotonic()
        events = events_of(post(base_url, "hello", "s-429"))
        elapsed = time.monotonic() - started
    assert answer(events) == "Here I am."
    assert events[-1].json()["status"] == "completed"
    assert len(groq_standin.chat_requests) == 2
    assert elapsed >= 0.2


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (Error.rate_limited(retry_after_s=0.05), "rate_limited"),
        (Error.internal_server_error(), "model_unavailable"),
        (Error.service_unavailable(), "model_unavailable"),
    ],
)
def test_persistent_failure_ends_politely_with_an_error_event(
    lex_server: ServerFactory, groq_standin: GroqStandIn, failure: Error, code: str
) -> None:
    groq_standin.script(failure, failure, failure)
    with lex_server(**groq(groq_standin, model_max_retries=2)) as base_url:
        events = events_of(post(base_url, "hello", "s-down"))
        assert [e.event for e in events] == ["chunk", "error", "end"]
        assert "try again" in events[0].json()["text"]
        assert events[1].json() == {
            "code": code,
            "message": events[1].json()["message"],
            "retryable": True,
        }
        assert events[2].json()["status"] == "error"
        assert len(groq_standin.chat_requests) == 3  # bounded: the first call and two retries
        assert_session_goes_on(base_url, "s-down", groq_standin, ["hello"])


def test_a_stalled_model_call_times_out_and_the_session_goes_on(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Stall(3.0))
    with lex_server(**groq(groq_standin, model_timeout_s=0.3)) as base_url:
        events = events_of(post(base_url, "hello", "s-stall"))
        assert [e.event for e in events] == ["chunk", "error", "end"]
        assert events[1].json()["code"] == "model_unavailable"
        assert_session_goes_on(base_url, "s-stall", groq_standin, ["hello"])


def test_turn_deadline_stops_a_trickling_answer_and_keeps_what_was_shown(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    # 50 words at 0.1 s take 5 s: the deadline leaves room for several words even on a busy
    # machine, and still cuts the answer well before its end.
    groq_standin.script(Text(" ".join(["slow"] * 50), token_delay_s=0.1))
    with lex_server(**groq(groq_standin, turn_timeout_s=1.5)) as base_url:
        events = events_of(post(base_url, "hello", "s-deadline"))
        names = [e.event for e in events]
        assert names[-3:] == ["chunk", "error", "end"] and names.count("chunk") > 2
        assert events[-2].json()["code"] == "turn_timeout"
        shown = answer(events)
        assert_session_goes_on(base_url, "s-deadline", groq_standin, ["hello"])
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == [shown.strip()]


def test_tool_use_failed_is_retried_then_succeeds(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Error.tool_use_failed(), Text("Recovered."))
    with lex_server(**groq(groq_standin)) as base_url:
        events = events_of(post(base_url, "hello", "s-tuf"))
    assert answer(events) == "Recovered."
    assert len(groq_standin.chat_requests) == 2


def test_invalid_key_is_not_retried_and_shows_on_health(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Error.invalid_api_key())
    with lex_server(**groq(groq_standin, model_max_retries=2)) as base_url:
        events = events_of(post(base_url, "hello", "s-401"))
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
        assert events[1].json()["code"] == "model_auth_failed"
        assert events[1].json()["retryable"] is False
        assert "try again" not in events[0].json()["text"]
        assert len(groq_standin.chat_requests) == 1
        assert health["status"] == "degraded"
        assert "GROQ_API_KEY" in health["model"]["error"]
        assert_session_goes_on(base_url, "s-401", groq_standin, ["hello"])
        assert httpx.get(f"{base_url}/health", headers=OPERATOR).json()["status"] == "healthy"


def test_fallback_model_answers_when_the_primary_is_decommissioned(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(
        Error.model_decommissioned("llama-3.3-70b-versatile"), Text("Fallback here.")
    )
    settings = groq(groq_standin, model_fallbacks="llama-3.1-8b-instant")
    with lex_server(**settings) as base_url:
        events = events_of(post(base_url, "hello", "s-fallback"))
    assert answer(events) == "Fallback here."
    assert [r.model for r in groq_standin.chat_requests] == [
        "llama-3.3-70b-versatile",
        "llama-3.1-8b-instant",
    ]


# --- double send -------------------------------------------------------------------------


def test_second_send_while_answering_gets_409_and_loses_nothing(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(SLOW_ANSWER)
    with lex_server(**groq(groq_standin)) as base_url:
        with partial_stream(base_url, "first", "s-busy") as events:
            next(events)
            busy = post(base_url, "second", "s-busy")
            list(events)
        assert busy.status_code == 409
        assert busy.headers["retry-after"] == "2"
        assert busy.json()["error"]["code"] == "session_busy"
        assert_session_goes_on(base_url, "s-busy", groq_standin, ["first"])


def test_enqueue_mode_answers_both_messages_in_order(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Text("First answer.", token_delay_s=0.05), Text("Second answer."))
    results: dict[str, list[SseEvent]] = {}
    with lex_server(**groq(groq_standin, on_busy="enqueue")) as base_url:

        def send(query: str) -> None:
            results[query] = events_of(post(base_url, query, "s-queue"))

        first = threading.Thread(target=send, args=("first",))
        first.start()
        time.sleep(0.1)
        send("second")
        first.join()
    assert answer(results["first"]) == "First answer."
    assert answer(results["second"]) == "Second answer."
    assert user_messages_sent(groq_standin) == ["first", "second"]


# --- shutdown ----------------------------------------------------------------------------


def test_shutdown_cancels_a_running_turn_and_keeps_the_message(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Text(" ".join(["slow"] * 100), token_delay_s=0.1))
    settings = groq(groq_standin, shutdown_grace_s=0.3)
    with lex_server(**settings) as base_url:
        with partial_stream(base_url, "remember me", "s-shutdown") as events:
            next(events)
    # The server has stopped; a new one on the same database continues the session.
    with lex_server(**settings) as base_url:
        assert_session_goes_on(base_url, "s-shutdown", groq_standin, ["remember me"])


def test_exit_durability_saves_one_checkpoint_per_turn_and_still_repairs_a_stop(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(Text("Saved at the end."), SLOW_ANSWER)
    with lex_server(**groq(groq_standin, checkpoint_durability="exit")) as base_url:
        events_of(post(base_url, "first", "s-exit"))
        checkpoints = httpx.get(
            f"{base_url}/sessions/s-exit/checkpoints", headers=OPERATOR, timeout=10
        ).json()
        with partial_stream(base_url, "second", "s-exit") as events:
            shown = [next(events) for _ in range(3)]
            httpx.post(f"{base_url}/sessions/s-exit/cancel", headers=OPERATOR)
            rest = list(events)
        assert rest[-1].json()["status"] == "cancelled"
        assert_session_goes_on(base_url, "s-exit", groq_standin, ["first", "second"])
    assert len(checkpoints) <= 2
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == ["Saved at the end.", answer(shown + rest).strip()]


def test_a_model_failing_mid_answer_is_not_retried_into_a_second_answer(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(DropMidStream("The weather in Miami"))
    settings = groq(groq_standin, model_fallbacks="llama-3.1-8b-instant")
    with lex_server(**settings) as base_url:
        events = events_of(post(base_url, "weather?", "s-partial"))
        shown = answer(events)
        assert shown.startswith("The weather in Miami")
        assert len(groq_standin.chat_requests) == 1  # neither retried nor handed to the fallback
        assert [e.event for e in events][-2:] == ["error", "end"]
        assert events[-2].json()["code"] == "model_unavailable"
        assert_session_goes_on(base_url, "s-partial", groq_standin, ["weather?"])
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == [shown.strip()]


def test_pressing_stop_twice_still_ends_the_stream_and_keeps_the_text(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.script(SLOW_ANSWER)
    with lex_server(**groq(groq_standin)) as base_url:
        with partial_stream(base_url, "long answer", "s-double-stop") as events:
            shown = [next(events) for _ in range(3)]
            stops = [
                threading.Thread(
                    target=httpx.post,
                    args=(f"{base_url}/sessions/s-double-stop/cancel",),
                    kwargs={"headers": OPERATOR},
                )
                for _ in range(4)
            ]
            for stop in stops:
                stop.start()
            for stop in stops:
                stop.join()
            rest = list(events)
        assert rest[-1].event == "end" and rest[-1].json()["status"] == "cancelled"
        assert_session_goes_on(base_url, "s-double-stop", groq_standin, ["long answer"])
    assistant = [
        m["content"] for m in groq_standin.chat_requests[-1].messages if m["role"] == "assistant"
    ]
    assert assistant == [answer(shown + rest).strip()]
