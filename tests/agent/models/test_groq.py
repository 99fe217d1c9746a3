"""Choosing the Groq model from the configured id and the served catalog."""

from __future__ import annotations

import pytest

from agent.models.groq import (
    GPT_OSS_20B,
    GPT_OSS_120B,
    LLAMA_3_1_8B,
    LLAMA_3_3_70B,
    QWEN_3_6_27B,
    chat_options,
    resolve_model,
)

TODAY = (GPT_OSS_120B, GPT_OSS_20B, QWEN_3_6_27B, "whisper-large-v3-turbo")
ENTERPRISE = (LLAMA_3_3_70B, LLAMA_3_1_8B, *TODAY)


def test_unset_model_takes_the_first_served_of_the_chain() -> None:
    assert resolve_model(None, ENTERPRISE).model == LLAMA_3_3_70B
    today = resolve_model(None, TODAY)
    assert today.model == GPT_OSS_120B
    assert today.fallbacks == (GPT_OSS_20B, QWEN_3_6_27B)
    assert today.replaced == LLAMA_3_3_70B
    assert today.reason.startswith(
        f"{LLAMA_3_3_70B} (the default) is retired for this account; answering with {GPT_OSS_120B}"
    )
    assert resolve_model(None, ENTERPRISE).replaced is None


@pytest.mark.parametrize(
    ("retired", "replacement"),
    [
        (LLAMA_3_3_70B, GPT_OSS_120B),
        (LLAMA_3_1_8B, GPT_OSS_20B),
        ("llama3-70b-8192", GPT_OSS_120B),
        ("meta-llama/llama-4-scout-17b-16e-instruct", GPT_OSS_120B),
    ],
)
def test_a_retired_model_gives_way_to_its_documented_replacement(
    retired: str, replacement: str
) -> None:
    resolution = resolve_model(retired, TODAY)
    assert resolution.model == replacement
    assert resolution.replaced == retired
    assert resolution.reason.startswith(
        f"{retired} is retired for this account; answering with {replacement}"
    )
    assert retired not in resolution.fallbacks


def test_the_seed_id_becomes_llama_3_3_where_it_is_still_served() -> None:
    assert resolve_model("llama3-70b-8192", ENTERPRISE).model == LLAMA_3_3_70B


def test_a_served_model_is_kept() -> None:
    resolution = resolve_model(QWEN_3_6_27B, TODAY)
    assert resolution.model == QWEN_3_6_27B and resolution.replaced is None


def test_configured_fallbacks_keep_only_served_ones() -> None:
    resolution = resolve_model(None, TODAY, fallbacks=[LLAMA_3_1_8B, GPT_OSS_20B])
    assert resolution.fallbacks == (GPT_OSS_20B,)
    assert resolve_model(None, TODAY, fallbacks=[]).fallbacks == ()


def test_strict_keeps_the_configured_model_and_says_why() -> None:
    resolution = resolve_model(LLAMA_3_3_70B, TODAY, strict=True)
    assert resolution.model == LLAMA_3_3_70B and resolution.fallbacks == ()
    assert "MODEL_STRICT" in resolution.reason


def test_without_a_listing_the_configured_model_is_trusted_until_gone() -> None:
    assert resolve_model(LLAMA_3_3_70B, None).model == LLAMA_3_3_70B
    assert resolve_model(None, None).model == LLAMA_3_3_70B
    after = resolve_model(None, None, gone=[LLAMA_3_3_70B])
    assert after.model == GPT_OSS_120B and LLAMA_3_3_70B not in after.fallbacks


def test_a_model_gone_at_run_time_is_skipped_even_if_listed() -> None:
    resolution = resolve_model(None, ENTERPRISE, gone=[LLAMA_3_3_70B])
    assert resolution.model == GPT_OSS_120B


def test_reasoning_families_are_asked_to_keep_reasoning_out_of_the_content() -> None:
    assert chat_options(GPT_OSS_120B, reasoning_effort="low") == {
        "reasoning_effort": "low",
        "model_kwargs": {"include_reasoning": False},
    }
    assert chat_options(QWEN_3_6_27B, reasoning_effort="low") == {"reasoning_format": "hidden"}
    assert chat_options(LLAMA_3_3_70B, reasoning_effort="low") == {}
