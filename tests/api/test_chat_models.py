"""Choosing the chat model from the settings: no network without a key, the live resolution."""

from __future__ import annotations

from pathlib import Path

import groq
import httpx

from agent.model_call import ModelFailed
from api.chat_models import choose_chat_model, list_served_models
from tests.support.app_server import isolated_settings
from tests.support.fixtures import TEST_API_KEY
from tests.support.groq_standin import ENTERPRISE_CATALOG, Error, GroqStandIn


def test_without_a_key_groq_is_asked_nothing(groq_standin: GroqStandIn, tmp_path: Path) -> None:
    settings = isolated_settings(
        tmp_path, model_provider="groq", groq_api_base=groq_standin.base_url
    )
    assert list_served_models(settings) is None
    assert groq_standin.requests == []


def test_a_model_gone_at_run_time_is_replaced_and_announced(
    groq_standin: GroqStandIn, tmp_path: Path
) -> None:
    groq_standin.serve_models(ENTERPRISE_CATALOG)
    settings = isolated_settings(
        tmp_path,
        model_provider="groq",
        groq_api_key=TEST_API_KEY,
        groq_api_base=groq_standin.base_url,
    )
    choice = choose_chat_model(settings)
    assert choice.groq is not None
    heard: list[tuple[str, str, str]] = []
    choice.groq.listeners.append(lambda s: heard.append((s.kind, s.from_model, s.to_model)))
    gone = Error.model_not_found("llama-3.3-70b-versatile")
    error = groq.NotFoundError("gone", response=_response(404), body=gone.body)
    choice.groq.on_model_failure(
        ModelFailed("llama-3.3-70b-versatile", error, "openai/gpt-oss-120b")
    )
    assert choice.current_name == "openai/gpt-oss-120b"
    assert heard == [
        ("fallback", "llama-3.3-70b-versatile", "openai/gpt-oss-120b"),
        ("substitution", "llama-3.3-70b-versatile", "openai/gpt-oss-120b"),
    ]
    assert choice.groq.lineup()[0].model_name == "openai/gpt-oss-120b"  # type: ignore[attr-defined]


def _response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "http://groq.test"))
