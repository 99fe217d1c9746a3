"""Lex on Groq's late-2026 catalog: retired Llama ids, gpt-oss and qwen reasoning, end to end.

The real ChatGroq client talks to the stand-in serving what a free or developer account is served
today (Llama retired), or an enterprise account's catalog (Llama kept), through `POST /query`.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from langchain_groq import ChatGroq
from pydantic import SecretStr

from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import (
    AUTO_REASONING,
    ENTERPRISE_CATALOG,
    TODAY_CATALOG,
    Error,
    GroqStandIn,
    Text,
)
from tests.support.sse import SseEvent, parse_sse

GPT_OSS_120B = "openai/gpt-oss-120b"
QWEN = "qwen/qwen3.6-27b"
REASONING_WORDS = ("think", "Let me", "which tool fits")


def on_groq(standin: GroqStandIn, **extra: Any) -> dict[str, Any]:
    return {
        "model_provider": "auto",
        "groq_api_key": TEST_API_KEY,
        "groq_api_base": standin.base_url,
        "model_max_retries": 0,
        **extra,
    }


def ask(base_url: str, query: str, session_id: str) -> list[SseEvent]:
    response = httpx.post(
        f"{base_url}/query",
        headers=OPERATOR,
        json={"query": query, "session_id": session_id},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def text_of(events: list[SseEvent]) -> str:
    return "".join(e.data for e in events if e.event == "chunk")


def assert_answered(events: list[SseEvent]) -> str:
    """The turn streamed text, raised no `error` and ended; returns the text."""
    kinds = [e.event for e in events]
    assert "error" not in kinds, events
    assert kinds[-1] == "end"
    text = text_of(events)
    assert text.strip()
    return text


def assert_no_reasoning(text: str) -> None:
    assert "<think" not in text and "</think" not in text
    assert AUTO_REASONING not in text
    for words in REASONING_WORDS:
        assert words not in text, text


@pytest.mark.parametrize(
    ("model_name", "asked_for"),
    [
        (None, "llama-3.3-70b-versatile (the default)"),
        ("llama3-70b-8192", "llama3-70b-8192"),
        ("llama-3.3-70b-versatile", "llama-3.3-70b-versatile"),
    ],
)
def test_a_key_on_todays_catalog_answers_with_a_served_model(
    lex_server: ServerFactory,
    groq_standin: GroqStandIn,
    model_name: str | None,
    asked_for: str,
) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    with lex_server(**on_groq(groq_standin, model_name=model_name)) as base_url:
        tool_turn = ask(base_url, "What's the weather in Miami?", "today-tool")
        plain_turn = ask(base_url, "hello", "today-plain")
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()

    assert [e.event for e in tool_turn[:2]] == ["tool_use", "tool_output"]
    assert "Miami" in assert_answered(tool_turn)
    assert_answered(plain_turn)
    assert health["status"] == "healthy"
    model = health["model"]
    assert model["name"] == GPT_OSS_120B
    resolution = model["resolution"]
    assert resolution["answering"] == GPT_OSS_120B
    assert resolution["requested"] == model_name
    assert resolution["replaced"] == (model_name or "llama-3.3-70b-versatile")
    assert (
        f"{asked_for} is retired for this account; answering with {GPT_OSS_120B}"
        in (model["warning"])
    )
    assert {r.model for r in groq_standin.chat_requests} == {GPT_OSS_120B}
    # gpt-oss is asked for low effort and no reasoning in the answer; Groq would refuse the rest.
    body = groq_standin.chat_requests[0].body
    assert body["reasoning_effort"] == "low" and body["include_reasoning"] is False
    assert body.get("reasoning_format") is None


def test_an_enterprise_account_keeps_llama(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    with lex_server(**on_groq(groq_standin)) as base_url:
        assert_answered(ask(base_url, "hello", "enterprise"))
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
    assert health["model"]["name"] == "llama-3.3-70b-versatile"
    assert health["model"]["resolution"]["replaced"] is None
    assert [r.model for r in groq_standin.chat_requests] == ["llama-3.3-70b-versatile"]


def test_qwen_answers_without_its_reasoning_anywhere(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    with lex_server(**on_groq(groq_standin, model_name=QWEN)) as base_url:
        events = ask(base_url, "What's the weather in Miami?", "qwen")
        transcript = httpx.get(f"{base_url}/sessions/qwen", headers=OPERATOR).json()
        replay = httpx.get(f"{base_url}/sessions/qwen/replay", headers=OPERATOR).text
    answer = assert_answered(events)
    assert_no_reasoning(answer)
    assert groq_standin.chat_requests[0].body["reasoning_format"] == "hidden"
    assert answer.strip() in str(transcript) and "Miami" in replay
    assert_no_reasoning(str(transcript))
    assert_no_reasoning(replay)


def raw_reasoning_model(standin: GroqStandIn, model: str) -> ChatGroq:
    """A ChatGroq left at Groq's defaults: qwen then writes `<think>` into the answer."""
    return ChatGroq(
        model=model,
        api_key=SecretStr(TEST_API_KEY),
        base_url=standin.base_url,
        max_retries=0,
        streaming=True,
    )


@pytest.mark.parametrize("model", [QWEN, GPT_OSS_120B])
def test_reasoning_a_model_streams_anyway_never_reaches_the_customer(
    lex_server: ServerFactory, groq_standin: GroqStandIn, model: str
) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    groq_standin.script(Text("Sunny in Miami.", reasoning="I think the customer wants sun."))
    with lex_server(chat_model=raw_reasoning_model(groq_standin, model)) as base_url:
        events = ask(base_url, "weather?", "raw")
        transcript = httpx.get(f"{base_url}/sessions/raw", headers=OPERATOR).json()
        replay = httpx.get(f"{base_url}/sessions/raw/replay", headers=OPERATOR).text
    assert assert_answered(events) == "Sunny in Miami."
    for seen in (str(transcript), replay):
        assert "Sunny in Miami." in seen
        assert "customer wants sun" not in seen and "<think" not in seen


def test_a_model_retired_mid_deployment_is_replaced_on_its_first_refusal(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    with lex_server(**on_groq(groq_standin)) as base_url:
        assert_answered(ask(base_url, "hello", "retire"))
        groq_standin.serve_models(TODAY_CATALOG)  # Groq retires Llama for this account
        assert_answered(ask(base_url, "hello again", "retire"))
        assert_answered(ask(base_url, "and again", "retire"))
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
    assert [r.model for r in groq_standin.chat_requests] == [
        "llama-3.3-70b-versatile",
        "llama-3.3-70b-versatile",  # 404 model_not_found, retried once on the next model
        GPT_OSS_120B,
        GPT_OSS_120B,  # later calls go straight to the replacement
    ]
    assert health["status"] == "healthy"
    assert health["model"]["name"] == GPT_OSS_120B
    assert health["model"]["resolution"]["substitutions"] == 1


def test_a_failed_listing_starts_with_the_chain_and_switches_at_run_time(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    groq_standin.listing_error = Error.internal_server_error()
    with lex_server(**on_groq(groq_standin)) as base_url:
        before = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
        assert_answered(ask(base_url, "hello", "unlisted"))
        after = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
    assert before["model"]["resolution"]["served_listed"] is False
    assert "could not list" in before["model"]["warning"]
    assert [r.model for r in groq_standin.chat_requests] == [
        "llama-3.3-70b-versatile",
        GPT_OSS_120B,
    ]
    assert after["model"]["name"] == GPT_OSS_120B


def test_strict_mode_refuses_to_substitute(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    settings = on_groq(groq_standin, model_name="llama-3.3-70b-versatile", model_strict=True)
    with lex_server(**settings) as base_url:
        events = ask(base_url, "hello", "strict")
        health = httpx.get(f"{base_url}/health", headers=OPERATOR).json()
    assert [e.event for e in events][-2:] == ["error", "end"]
    assert health["status"] == "degraded"
    assert "MODEL_STRICT" in health["model"]["resolution"]["reason"]
    assert {r.model for r in groq_standin.chat_requests} == {"llama-3.3-70b-versatile"}


def test_the_recheck_absorbs_a_retirement_without_a_turn(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    with lex_server(**on_groq(groq_standin, model_recheck_interval_s=0.05)) as base_url:
        groq_standin.serve_models(TODAY_CATALOG)
        deadline = time.monotonic() + 5
        name = ""
        while time.monotonic() < deadline and name != GPT_OSS_120B:
            name = httpx.get(f"{base_url}/health", headers=OPERATOR).json()["model"]["name"]
            time.sleep(0.05)
    assert name == GPT_OSS_120B
    assert groq_standin.chat_requests == []


def test_without_fallbacks_a_retired_model_is_still_switched_and_the_call_retried_once(
    lex_server: ServerFactory, groq_standin: GroqStandIn
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    with lex_server(**on_groq(groq_standin, model_fallbacks="none")) as base_url:
        groq_standin.serve_models(TODAY_CATALOG)
        assert_answered(ask(base_url, "hello", "no-fallbacks"))
    assert [r.model for r in groq_standin.chat_requests] == [
        "llama-3.3-70b-versatile",
        GPT_OSS_120B,
    ]
