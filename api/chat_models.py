"""Chooses the chat model Lex talks through: ChatGroq with a key, the offline model without one.

With a key, the models the account is served are listed at startup (and again every
MODEL_RECHECK_INTERVAL_S), and `agent.models.groq.resolve_model` picks the one that answers: the
configured model when served, else its replacement. A model Groq stops serving mid-deployment is
dropped at its first `model_not_found`/`model_decommissioned`, and the next served one answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import groq
import httpx
from langchain_core.language_models import BaseChatModel
from langchain_groq import ChatGroq

from agent.model_call import ModelFailed
from agent.models.groq import ModelResolution, chat_options, resolve_model
from agent.models.groq_requests import sending_messages_as_given
from agent.models.offline.model import OfflineChatModel
from api.settings import Settings
from api.turns.failures import is_model_gone
from tools.domain.clock import Clock
from tools.domain.directory import DEALERSHIPS

logger = logging.getLogger(__name__)

OFFLINE_PROVIDER = "offline"
GROQ_PROVIDER = "groq"
LIST_MODELS_TIMEOUT_S = 10.0
"""Deadline of one `GET /openai/v1/models`; a slow listing must not hold startup long."""

SwitchKind = Literal["substitution", "fallback"]


@dataclass(frozen=True)
class ModelSwitch:
    """Another model took over: for good (`substitution`) or for one call (`fallback`).

    Attributes:
        kind: substitution (the answering model changed) or fallback (one call moved on).
        from_model: The id that stopped answering.
        to_model: The id that answers instead.
        reason: Why, in one sentence.
    """

    kind: SwitchKind
    from_model: str
    to_model: str
    reason: str


SwitchListener = Callable[[ModelSwitch], None]
"""Hears of every model switch (metrics count them)."""


def list_served_models(settings: Settings) -> tuple[str, ...] | None:
    """Returns the ids of the models the account is served, or None when Groq cannot say."""
    if settings.groq_api_key is None:
        return None
    client = groq.Groq(
        api_key=settings.groq_api_key.get_secret_value(),
        base_url=settings.groq_api_base,
        timeout=min(settings.model_timeout_s, LIST_MODELS_TIMEOUT_S),
        max_retries=1,
    )
    try:
        listing = client.models.list()
    except (groq.APIError, httpx.HTTPError) as error:
        logger.warning("could not list the models Groq serves: %r", error)
        return None
    finally:
        client.close()
    return tuple(model.id for model in listing.data if getattr(model, "active", True) is not False)


def groq_model(settings: Settings, model_name: str) -> ChatGroq:
    """Returns a streaming ChatGroq client for `model_name` with the configured limits."""
    api_key = settings.groq_api_key.get_secret_value() if settings.groq_api_key else None
    model = ChatGroq(
        model=model_name,
        api_key=api_key,  # type: ignore[arg-type]
        base_url=settings.groq_api_base,
        timeout=settings.model_timeout_s,
        max_retries=settings.model_max_retries,
        streaming=True,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,
        **chat_options(model_name, reasoning_effort=settings.reasoning_effort),
    )
    return sending_messages_as_given(model)


def resolve_for(
    settings: Settings, served: Sequence[str] | None, gone: Sequence[str] = ()
) -> ModelResolution:
    """Resolves the answering model under these settings."""
    return resolve_model(
        settings.model_name,
        served,
        fallbacks=settings.model_fallback_list,
        strict=settings.model_strict,
        gone=gone,
    )


class GroqModels:
    """The Groq models in use: re-resolved when Groq stops serving one and at every re-check.

    Args:
        settings: The configuration.
        resolution: The resolution at startup.
    """

    def __init__(self, settings: Settings, resolution: ModelResolution) -> None:
        self._settings = settings
        self.resolution = resolution
        self._gone: list[str] = []
        self._clients: dict[str, ChatGroq] = {}
        self.switches: Counter[SwitchKind] = Counter()
        self.listeners: list[SwitchListener] = []

    @property
    def substituted(self) -> SubstitutedModels:
        """The model answering in place of the configured one, read live (for metrics)."""
        return SubstitutedModels(self)

    def client(self, model_name: str) -> ChatGroq:
        """Returns the (cached) ChatGroq client of `model_name`."""
        if model_name not in self._clients:
            self._clients[model_name] = groq_model(self._settings, model_name)
        return self._clients[model_name]

    def lineup(self) -> list[BaseChatModel]:
        """The answering model, then its fallbacks."""
        resolution = self.resolution
        return [self.client(name) for name in (resolution.model, *resolution.fallbacks)]

    def on_model_failure(self, failure: ModelFailed) -> None:
        """Notes a failed call: a fallback taken, or a model Groq no longer serves."""
        if failure.next_model is not None:
            self._announce(
                ModelSwitch(
                    "fallback", failure.model, failure.next_model, type(failure.error).__name__
                )
            )
        if self._settings.model_strict or not is_model_gone(failure.error):
            return
        if failure.model in self._gone:
            return
        logger.warning("Groq no longer serves %s: %r", failure.model, failure.error)
        self._gone.append(failure.model)
        self._update(resolve_for(self._settings, self.resolution.served, self._gone))

    async def recheck(self) -> None:
        """Lists the served models again and re-resolves (kept as is when the listing fails)."""
        served = await asyncio.to_thread(list_served_models, self._settings)
        if served is not None:
            self._update(resolve_for(self._settings, served, self._gone))

    def _update(self, resolution: ModelResolution) -> None:
        previous, self.resolution = self.resolution, resolution
        if resolution.model != previous.model:
            logger.warning("model substitution: %s", resolution.reason)
            self._announce(
                ModelSwitch("substitution", previous.model, resolution.model, resolution.reason)
            )
        elif resolution.fallbacks != previous.fallbacks:
            logger.info("model fallbacks now: %s", ", ".join(resolution.fallbacks) or "-")

    def _announce(self, switch: ModelSwitch) -> None:
        self.switches[switch.kind] += 1
        for listener in self.listeners:
            try:
                listener(switch)
            except Exception:
                logger.exception("a model switch listener failed")


class SubstitutedModels:
    """Iterates over the model answering in place of the configured one, as of now (or none).

    Args:
        models: The live Groq resolution.
    """

    def __init__(self, models: GroqModels) -> None:
        self._models = models

    def __iter__(self) -> Iterator[str]:
        resolution = self._models.resolution
        return iter((resolution.model,) if resolution.replaced is not None else ())


async def recheck_served_models(models: GroqModels, interval_s: float) -> None:
    """Re-checks the served models every `interval_s` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await models.recheck()
        except Exception:
            logger.exception("re-checking the served Groq models failed")


@dataclass(frozen=True)
class ChatModelChoice:
    """The chat model in use and what an operator should know about it.

    Attributes:
        model: The model the graph calls (for Groq, the one answering at startup).
        provider: "groq", "offline" or "custom".
        model_name: The model id answering at startup.
        warning: Operator-facing note (a substituted model, the offline stand-in), or None.
        fallbacks: Models tried in order when `model` is rate-limited, down or retired.
        model_named: Builds another model of the same provider by id (a run's `model_name`).
        groq: The live Groq resolution (None for other providers).
    """

    model: BaseChatModel
    provider: str
    model_name: str
    warning: str | None = None
    fallbacks: tuple[BaseChatModel, ...] = ()
    model_named: Callable[[str], BaseChatModel] | None = None
    groq: GroqModels | None = field(default=None, compare=False)

    @property
    def current_name(self) -> str:
        """The id of the model answering now."""
        return self.groq.resolution.model if self.groq is not None else self.model_name


def offline_choice(settings: Settings, clock: Clock | None = None) -> ChatModelChoice:
    """The offline model, with the note that says so.

    It is given the dealership directory as data and the app's clock (without one, it reads
    today's date from the system prompt).
    """
    offline = OfflineChatModel(
        token_delay_s=settings.offline_token_delay_s,
        directory=DEALERSHIPS,
        clock=clock,
        timezone=settings.timezone,
    )
    note = (
        "No GROQ_API_KEY set: answering with the offline model, a scripted rule-based stand-in "
        "(not an LLM). Set GROQ_API_KEY to talk to Groq."
    )
    logger.warning("%s", note)
    return ChatModelChoice(offline, OFFLINE_PROVIDER, offline.model_name, note)


def choose_chat_model(settings: Settings, clock: Clock | None = None) -> ChatModelChoice:
    """Builds the chat model the settings ask for (listing Groq's served models with a key).

    Args:
        settings: The configuration.
        clock: Where the offline model reads "now"; the system prompt's date when None.
    """
    wants_groq = settings.model_provider == GROQ_PROVIDER or (
        settings.model_provider == "auto" and settings.groq_api_key is not None
    )
    if not wants_groq:
        return offline_choice(settings, clock)
    resolution = resolve_for(settings, list_served_models(settings))
    models = GroqModels(settings, resolution)
    warning: str | None = None
    # Answering with the chain's next model when MODEL_NAME is unset is the design, not a
    # problem: only a model the operator named and cannot have, or an unknown catalog, warns.
    explicit_substitute = resolution.replaced is not None and resolution.requested is not None
    if explicit_substitute or resolution.served is None:
        warning = resolution.reason
        logger.warning("chat model: %s", resolution.reason)
    if settings.groq_api_key is None:
        warning = "MODEL_PROVIDER=groq but GROQ_API_KEY is not set: every turn will fail."
        logger.error("%s", warning)
    logger.info(
        "chat model: Groq %s (%s), fallbacks: %s",
        resolution.model,
        resolution.reason,
        ", ".join(resolution.fallbacks) or "-",
    )
    lineup = models.lineup()
    return ChatModelChoice(
        lineup[0],
        GROQ_PROVIDER,
        resolution.model,
        warning,
        tuple(lineup[1:]),
        model_named=lambda name: groq_model(settings, name),
        groq=models,
    )
