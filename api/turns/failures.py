"""What a failed model call means: for the customer, for the retry logic, and for the operator.

The groq SDK raises `APIStatusError` subclasses for HTTP errors (the code is in
`body["error"]["code"]`) but a plain `APIError` for an error event inside a 200 stream (the code
is in `body["code"]`); a connection cut mid-stream escapes as a raw `httpx` error. A store that
stops answering mid-turn (Postgres, Redis, a locked SQLite file) is an outage to retry, not a bug.
Everything is mapped here to one `ModelFailure`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import groq
import httpx

from agent.model_call import AnswerInterrupted
from api.outages import unavailable_store

TOOL_USE_FAILED = "tool_use_failed"
MODEL_DECOMMISSIONED = "model_decommissioned"
MODEL_NOT_FOUND = "model_not_found"

BUSY_MESSAGE = "I'm getting a lot of questions right now and could not answer in time."
UNAVAILABLE_MESSAGE = "I could not reach my language service just now."
CONFIG_MESSAGE = "I'm not able to answer right now because of a problem on our side."
GENERIC_MESSAGE = "Something went wrong on my side and I could not finish that answer."
TIMEOUT_MESSAGE = "That took longer than it should have, so I stopped."
STORE_MESSAGE = "I lost touch with my records just now and could not finish that answer."
SERVICE_UNAVAILABLE = "service_unavailable"


@dataclass(frozen=True)
class ModelFailure:
    """A classified failure of a turn.

    Attributes:
        code: Machine-readable reason, sent in the `error` event.
        message: Short text safe to show to a customer.
        retryable: Whether sending the same message again may work.
        operator_message: What an operator must fix (shown on /health), or None.
    """

    code: str
    message: str
    retryable: bool
    operator_message: str | None = None


def groq_error_code(error: BaseException) -> str | None:
    """Returns Groq's error code (`tool_use_failed`, `model_decommissioned`, ...) if any."""
    body: Any = getattr(error, "body", None)
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body)
    code = inner.get("code") if isinstance(inner, Mapping) else None
    return str(code) if code else None


def is_tool_use_failed(error: BaseException) -> bool:
    """True for Groq's `tool_use_failed`: the model wrote a malformed tool call; retrying helps."""
    return isinstance(error, groq.APIError) and groq_error_code(error) == TOOL_USE_FAILED


def is_model_gone(error: BaseException) -> bool:
    """True when Groq does not serve the model asked for (retired, or never on this account)."""
    if isinstance(error, AnswerInterrupted):
        return False
    code = groq_error_code(error)
    return code in (MODEL_DECOMMISSIONED, MODEL_NOT_FOUND) or isinstance(error, groq.NotFoundError)


def classify(error: BaseException) -> ModelFailure:
    """Maps an exception raised during a turn to what the client, retries and operator need."""
    if isinstance(error, AnswerInterrupted) and error.__cause__ is not None:
        return classify(error.__cause__)
    if unavailable_store(error) is not None:
        return ModelFailure(SERVICE_UNAVAILABLE, STORE_MESSAGE, retryable=True)
    code = groq_error_code(error)
    if isinstance(error, TimeoutError):
        return ModelFailure("turn_timeout", TIMEOUT_MESSAGE, retryable=True)
    if isinstance(error, groq.RateLimitError):
        return ModelFailure("rate_limited", BUSY_MESSAGE, retryable=True)
    if isinstance(error, groq.AuthenticationError | groq.PermissionDeniedError):
        return ModelFailure(
            "model_auth_failed",
            CONFIG_MESSAGE,
            retryable=False,
            operator_message="Groq rejected the API key (check GROQ_API_KEY).",
        )
    if code in (MODEL_DECOMMISSIONED, MODEL_NOT_FOUND) or isinstance(error, groq.NotFoundError):
        return ModelFailure(
            code or MODEL_NOT_FOUND,
            CONFIG_MESSAGE,
            retryable=False,
            operator_message=(
                f"Groq does not serve the model ({code or 'not found'}) and no served "
                "replacement was found: run `lex doctor`, then set MODEL_NAME to a served model "
                "(or unset MODEL_STRICT to let Lex pick one)."
            ),
        )
    if code == TOOL_USE_FAILED:
        return ModelFailure("model_tool_call_failed", GENERIC_MESSAGE, retryable=True)
    if isinstance(error, groq.InternalServerError | groq.APIConnectionError | httpx.HTTPError):
        return ModelFailure("model_unavailable", UNAVAILABLE_MESSAGE, retryable=True)
    if isinstance(error, groq.APIStatusError) and error.status_code >= 500:
        return ModelFailure("model_unavailable", UNAVAILABLE_MESSAGE, retryable=True)
    return ModelFailure("internal_error", GENERIC_MESSAGE, retryable=True)


def model_call_status(error: BaseException) -> str:
    """Names a failed model call for the metrics: `429`, `5xx`, `tool_use_failed`, ...

    Unlike `classify`, this names one HTTP call's failure (after the Groq client's own retries),
    not the turn's: a model call that fails over to a fallback still counts as a `429` here.
    """
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    code = groq_error_code(error)
    if code == TOOL_USE_FAILED:
        return TOOL_USE_FAILED
    if isinstance(error, groq.RateLimitError):
        return "429"
    if isinstance(error, groq.APIStatusError):
        if error.status_code >= 500:
            return "5xx"
        if code in (MODEL_DECOMMISSIONED, MODEL_NOT_FOUND):
            return code
        return str(error.status_code)
    if isinstance(error, groq.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(error, groq.APIConnectionError | httpx.HTTPError):
        return "connection_error"
    if isinstance(error, groq.APIError):
        return code or "api_error"
    return "error"


FALLBACK_ON: tuple[type[BaseException], ...] = (
    groq.RateLimitError,
    groq.InternalServerError,
    groq.APIConnectionError,
    groq.NotFoundError,
    groq.BadRequestError,  # model_decommissioned is a 400
    httpx.HTTPError,
)
"""Errors after which the next model of MODEL_FALLBACKS is tried."""
