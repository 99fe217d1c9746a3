"""Chooses the chat model Lex talks through: ChatGroq with a key, the offline model without one.

Groq retires model ids; an old `.env` naming one would fail on every message. A known retired id is
swapped for its replacement at startup, with a warning in the log and on `/health`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_groq import ChatGroq

from agent.models.offline.model import OfflineChatModel
from api.settings import DEFAULT_MODEL_NAME, Settings

logger = logging.getLogger(__name__)

DECOMMISSIONED_MODELS: dict[str, str] = {
    "llama3-70b-8192": DEFAULT_MODEL_NAME,
    "llama3-8b-8192": "llama-3.1-8b-instant",
    "llama-3.1-70b-versatile": DEFAULT_MODEL_NAME,
    "llama-3.2-90b-text-preview": DEFAULT_MODEL_NAME,
    "llama3-groq-70b-8192-tool-use-preview": DEFAULT_MODEL_NAME,
    "mixtral-8x7b-32768": DEFAULT_MODEL_NAME,
    "gemma-7b-it": "llama-3.1-8b-instant",
    "gemma2-9b-it": "llama-3.1-8b-instant",
}
"""Retired Groq model ids and the id that replaces each."""

OFFLINE_PROVIDER = "offline"
GROQ_PROVIDER = "groq"


@dataclass(frozen=True)
class ChatModelChoice:
    """The chat model in use and what an operator should know about it.

    Attributes:
        model: The model the graph calls.
        provider: "groq" or "offline".
        model_name: The model id actually used.
        warning: Operator-facing note (a replaced retired model, the offline stand-in), or None.
        fallbacks: Models tried in order when `model` is rate-limited, down or retired.
        model_named: Builds another model of the same provider by id (a run's `model_name`).
    """

    model: BaseChatModel
    provider: str
    model_name: str
    warning: str | None = None
    fallbacks: tuple[BaseChatModel, ...] = ()
    model_named: Callable[[str], BaseChatModel] | None = None


def choose_chat_model(settings: Settings) -> ChatModelChoice:
    """Builds the chat model the settings ask for."""
    wants_groq = settings.model_provider == GROQ_PROVIDER or (
        settings.model_provider == "auto" and settings.groq_api_key is not None
    )
    if not wants_groq:
        offline = OfflineChatModel(token_delay_s=settings.offline_token_delay_s)
        offline_note = (
            "No GROQ_API_KEY set: answering with the offline model, a scripted rule-based stand-in "
            "for Llama 3.3 (not an LLM). Set GROQ_API_KEY to talk to Groq."
        )
        logger.warning("%s", offline_note)
        return ChatModelChoice(offline, OFFLINE_PROVIDER, offline.model_name, offline_note)

    model_name = settings.model_name
    warning: str | None = None
    if replacement := DECOMMISSIONED_MODELS.get(model_name):
        warning = (
            f"MODEL_NAME={model_name} has been decommissioned by Groq; using {replacement} "
            f"instead. Set MODEL_NAME={replacement} in your .env to silence this warning."
        )
        logger.error("%s", warning)
        model_name = replacement
    if settings.groq_api_key is None:
        warning = "MODEL_PROVIDER=groq but GROQ_API_KEY is not set: every turn will fail."
        logger.error("%s", warning)
    fallbacks = tuple(groq_model(settings, name) for name in settings.model_fallback_list)
    logger.info("chat model: Groq %s, fallbacks: %s", model_name, settings.model_fallbacks or "-")
    return ChatModelChoice(
        groq_model(settings, model_name),
        GROQ_PROVIDER,
        model_name,
        warning,
        fallbacks,
        model_named=lambda name: groq_model(settings, name),
    )


def groq_model(settings: Settings, model_name: str) -> ChatGroq:
    """Returns a streaming ChatGroq client for `model_name` with the configured limits."""
    api_key = settings.groq_api_key.get_secret_value() if settings.groq_api_key else None
    return ChatGroq(
        model=model_name,
        api_key=api_key,  # type: ignore[arg-type]
        base_url=settings.groq_api_base,
        timeout=settings.model_timeout_s,
        max_retries=settings.model_max_retries,
        streaming=True,
    )
