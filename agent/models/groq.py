"""Which Groq model answers, given the one configured and the ones the account is served.

Groq retires model ids; an account may keep one (enterprise) or lose it (free and developer tiers),
so the answer depends on what `GET /openai/v1/models` lists. Pure: no settings, no network.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

LLAMA_3_3_70B = "llama-3.3-70b-versatile"
GPT_OSS_120B = "openai/gpt-oss-120b"
GPT_OSS_20B = "openai/gpt-oss-20b"
QWEN_3_6_27B = "qwen/qwen3.6-27b"
LLAMA_3_1_8B = "llama-3.1-8b-instant"

PREFERENCE_CHAIN: tuple[str, ...] = (
    LLAMA_3_3_70B,  # the model Lex was tuned on, still served to enterprise accounts
    GPT_OSS_120B,
    GPT_OSS_20B,
    QWEN_3_6_27B,
    LLAMA_3_1_8B,
)
"""Models tried in order when none is configured or the configured one is not served."""

RETIRED_REPLACEMENTS: dict[str, tuple[str, ...]] = {
    LLAMA_3_3_70B: (GPT_OSS_120B, QWEN_3_6_27B),
    LLAMA_3_1_8B: (GPT_OSS_20B,),
    "llama3-70b-8192": (LLAMA_3_3_70B, GPT_OSS_120B),
    "llama3-8b-8192": (LLAMA_3_1_8B, GPT_OSS_20B),
    "llama-3.1-70b-versatile": (LLAMA_3_3_70B, GPT_OSS_120B),
    "llama-3.2-90b-text-preview": (LLAMA_3_3_70B, GPT_OSS_120B),
    "llama3-groq-70b-8192-tool-use-preview": (LLAMA_3_3_70B, GPT_OSS_120B),
    "meta-llama/llama-4-maverick-17b-128e-instruct": (GPT_OSS_120B,),
    "meta-llama/llama-4-scout-17b-16e-instruct": (GPT_OSS_120B,),
    "mixtral-8x7b-32768": (GPT_OSS_20B,),
    "gemma-7b-it": (GPT_OSS_20B,),
    "gemma2-9b-it": (GPT_OSS_20B,),
}
"""Groq's documented replacements of retired ids, best first (deprecations page, 2026)."""

MAX_DEFAULT_FALLBACKS = 2
"""How many served models of the chain back up the answering one when none are configured."""

GPT_OSS_PREFIX = "openai/gpt-oss"
QWEN_PREFIX = "qwen/"


@dataclass(frozen=True)
class ModelResolution:
    """The outcome of choosing a model, with the reason an operator reads in the log and `/health`.

    Attributes:
        requested: The configured id (MODEL_NAME), or None when unset.
        model: The id that answers.
        fallbacks: Ids tried in order when `model` fails before answering.
        reason: One sentence on why `model` answers.
        served: The ids the account is served, or None when the listing failed.
    """

    requested: str | None
    model: str
    fallbacks: tuple[str, ...]
    reason: str
    served: tuple[str, ...] | None

    @property
    def wanted(self) -> str:
        """The id asked for: MODEL_NAME, else the head of the chain (the default)."""
        return self.requested or PREFERENCE_CHAIN[0]

    @property
    def replaced(self) -> str | None:
        """The id asked for that another model answers for, or None."""
        return self.wanted if self.wanted != self.model else None


def is_retired(model: str) -> bool:
    """True for an id Groq has retired for free and developer accounts."""
    return model in RETIRED_REPLACEMENTS


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def resolve_model(
    requested: str | None,
    served: Collection[str] | None,
    *,
    fallbacks: Sequence[str] | None = None,
    strict: bool = False,
    gone: Collection[str] = (),
) -> ModelResolution:
    """Chooses the answering model and its fallbacks.

    Args:
        requested: MODEL_NAME, or None for the head of `PREFERENCE_CHAIN` (then the chain).
        served: The ids the account is served, or None when the listing failed (then the
            wanted model is trusted until Groq refuses it).
        fallbacks: MODEL_FALLBACKS; None for served models of the chain, empty for none.
        strict: Never answer with another model than the wanted one (MODEL_STRICT).
        gone: Ids Groq answered `model_not_found`/`model_decommissioned` for at run time.
    """
    wanted = requested or PREFERENCE_CHAIN[0]
    label = requested or f"{wanted} (the default)"
    usable = [name for name in served if name not in gone] if served is not None else None

    def can_answer(name: str) -> bool:
        return name not in gone and (usable is None or name in usable)

    replacements = [*RETIRED_REPLACEMENTS.get(wanted, ()), *PREFERENCE_CHAIN]
    if strict or can_answer(wanted):
        model = wanted
    else:
        model = next((name for name in replacements if can_answer(name)), wanted)
    served_known = usable is not None
    reason = _reason(
        label, model, wanted_served=can_answer(wanted), served_known=served_known, strict=strict
    )
    if fallbacks is None:
        pool = [] if strict else [*PREFERENCE_CHAIN, *replacements]
        chosen = [name for name in _unique(pool) if name != model and can_answer(name)]
        chosen = chosen[:MAX_DEFAULT_FALLBACKS]
    else:
        chosen = [name for name in fallbacks if name != model and can_answer(name)]
    listed = None if served is None else _unique(list(served))
    return ModelResolution(requested, model, _unique(chosen), reason, listed)


def _reason(
    label: str, model: str, *, wanted_served: bool, served_known: bool, strict: bool
) -> str:
    """One sentence on why `model` answers when `label` was asked for."""
    wanted = label.split(" ")[0]
    if wanted_served:
        if not served_known:
            return f"could not list Groq's models; starting with {label}"
        return f"{label} is served to this account"
    status = "retired" if is_retired(wanted) else "not served"
    if model == wanted:
        why = "MODEL_STRICT=true keeps it" if strict else "no replacement is served"
        return (
            f"{label} is {status} for this account and {why}: every turn will fail until "
            "MODEL_NAME names a served model"
        )
    if not served_known:
        return f"Groq refused {label}; answering with {model}"
    reason = f"{label} is {status} for this account; answering with {model}"
    if status == "retired" and label == wanted:
        reason += f" (Groq decommissioned it: set MODEL_NAME={model} or leave it unset)"
    return reason


def chat_options(model: str, *, reasoning_effort: str) -> dict[str, Any]:
    """Returns the ChatGroq options a model family needs so no reasoning reaches the content.

    gpt-oss streams its reasoning in a separate field (dropped with `include_reasoning: false`) and
    accepts a `reasoning_effort` of low, medium or high; qwen writes `<think>...</think>` into the
    content unless asked for `reasoning_format` `parsed` or `hidden`.

    Args:
        model: The Groq model id.
        reasoning_effort: low, medium or high (gpt-oss only).
    """
    if model.startswith(GPT_OSS_PREFIX):
        return {
            "reasoning_effort": reasoning_effort,
            "model_kwargs": {"include_reasoning": False},
        }
    if model.startswith(QWEN_PREFIX) or "deepseek-r1" in model:
        return {"reasoning_format": "hidden"}
    return {}
