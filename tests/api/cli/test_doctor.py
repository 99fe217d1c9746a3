"""`lex doctor` against the Groq stand-in: the verdict table and the exit code."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from api.cli.main import main
from tests.support.groq_standin import TODAY_CATALOG, GroqStandIn, Text


@pytest.fixture
def doctor_env(
    groq_env: GroqStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> GroqStandIn:
    """The stand-in serving today's catalog; no `.env` and no model settings from the machine."""
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_NAME", "MODEL_STRICT", "MODEL_FALLBACKS", "MODEL_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    groq_env.serve_models(TODAY_CATALOG)
    return groq_env


def doctor() -> tuple[int, str]:
    out = io.StringIO()
    code = main(["doctor"], out=out)
    return code, out.getvalue()


def test_doctor_lists_resolves_calls_a_tool_and_streams(doctor_env: GroqStandIn) -> None:
    code, table = doctor()
    lines = table.splitlines()
    assert code == 0, table
    assert lines[0].split() == ["check", "verdict", "detail"]
    assert any(line.startswith("served models") and "openai/gpt-oss-120b" in line for line in lines)
    model_line = next(line for line in lines if line.startswith("model "))
    # MODEL_NAME is unset: answering with the chain's next served model is the design, not a
    # warning the operator could act on.
    assert model_line.split()[1] == "ok"
    assert "llama-3.3-70b-versatile (the default) is retired for this account" in model_line
    assert any(
        line.startswith("tool call") and "get_weather(city='Miami')" in line for line in lines
    )
    assert any(line.startswith("streamed answer") and " ok " in line for line in lines)
    assert lines[-1] == "verdict: Lex can answer"
    assert {r.model for r in doctor_env.chat_requests} == {"openai/gpt-oss-120b"}


def test_doctor_warns_when_the_model_named_in_the_settings_is_replaced(
    doctor_env: GroqStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_NAME", "llama-3.3-70b-versatile")
    code, table = doctor()
    model_line = next(line for line in table.splitlines() if line.startswith("model "))
    assert code == 0, table
    assert model_line.split()[1] == "warn"
    assert "set MODEL_NAME=openai/gpt-oss-120b" in model_line


def test_doctor_fails_when_the_model_calls_no_tool(
    doctor_env: GroqStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_NAME", "qwen/qwen3-32b")
    doctor_env.script(Text("I will not call anything."), Text("Hello!", reasoning="Greet them."))
    code, table = doctor()
    assert code == 1
    assert "tool call        FAIL" in table and "verdict: FAIL (tool call)" in table
    assert doctor_env.chat_requests[-1].body["reasoning_format"] == "hidden"


def test_doctor_fails_without_a_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    code, table = doctor()
    assert code == 1
    assert "GROQ_API_KEY is not set" in table and "verdict: FAIL (key)" in table


def test_doctor_fails_when_groq_refuses_the_key(doctor_env: GroqStandIn) -> None:
    doctor_env.expected_api_key = "gsk_another_key"
    code, table = doctor()
    assert code == 1
    assert "verdict: FAIL (served models)" in table


def test_doctor_fails_when_strict_keeps_a_retired_model(
    doctor_env: GroqStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_NAME", "llama-3.3-70b-versatile")
    monkeypatch.setenv("MODEL_STRICT", "true")
    code, table = doctor()
    assert code == 1 and "MODEL_STRICT=true keeps it" in table
    assert doctor_env.chat_requests == []
