"""Counts a turn's model calls as LangChain reports them: by model and status, with their tokens.

A callback handler sees every call the graph makes, whichever model answers: the configured one,
a fallback (`agent.model_call.stream_answer` tries the next model under the same parent run after
a failure, so a success under a parent that already saw a failure is a `fallback`), or another model
a run names. The Groq client's own retries of a 429 or a 5xx happen inside one call and are not
seen here; a call counts as `429` when the client gave up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from api.telemetry.metrics import (
    MODEL_CALL_FALLBACK,
    MODEL_CALL_OK,
    MODEL_CALL_SUBSTITUTION,
    LexMetrics,
)
from api.turns.failures import model_call_status

UNKNOWN_MODEL = "unknown"


def model_name_of(metadata: dict[str, Any] | None, invocation: dict[str, Any] | None) -> str:
    """Returns the model id LangChain reports for a chat model run."""
    candidates = (
        (metadata or {}).get("ls_model_name"),
        (invocation or {}).get("model"),
        (invocation or {}).get("model_name"),
    )
    for value in candidates:
        if isinstance(value, str) and value:
            return value
    return UNKNOWN_MODEL


class ModelCallRecorder(BaseCallbackHandler):
    """Records one turn's model calls in the metrics and keeps the turn's totals.

    Args:
        metrics: Where calls and tokens are counted.
        substituted: Models that answer in place of a configured model Groq retired; their
            successful calls count as `substitution`.

    Attributes:
        models: The models that answered, in order of first answer.
        input_tokens: Tokens sent to the models this turn.
        output_tokens: Tokens the models produced this turn.
        calls: Model calls made this turn, failed ones included.
    """

    run_inline = True  # counting is cheap: no thread hop per call

    def __init__(self, metrics: LexMetrics, *, substituted: Iterable[str] = ()) -> None:
        self._metrics = metrics
        self._substituted = frozenset(substituted)
        self._model_by_run: dict[UUID, str] = {}
        self._parent_by_run: dict[UUID, UUID | None] = {}
        self._parents_that_failed: set[UUID] = set()
        self.models: list[str] = []
        self.input_tokens = 0
        self.output_tokens = 0
        self.calls = 0

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remembers which model this call is on."""
        self._model_by_run[run_id] = model_name_of(metadata, kwargs.get("invocation_params"))
        self._parent_by_run[run_id] = parent_run_id

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Counts a call that answered, and its tokens."""
        model, parent = self._forget(run_id)
        if parent is not None and parent in self._parents_that_failed:
            status = MODEL_CALL_FALLBACK
        elif model in self._substituted:
            status = MODEL_CALL_SUBSTITUTION
        else:
            status = MODEL_CALL_OK
        self._metrics.model_calls.labels(model=model, status=status).inc()
        if model not in self.models:
            self.models.append(model)
        input_tokens, output_tokens = token_usage(response)
        if input_tokens:
            self._metrics.model_tokens.labels(model=model, direction="input").inc(input_tokens)
        if output_tokens:
            self._metrics.model_tokens.labels(model=model, direction="output").inc(output_tokens)
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Counts a failed call by what went wrong."""
        model, parent = self._forget(run_id)
        if parent is not None:
            self._parents_that_failed.add(parent)
        self._metrics.model_calls.labels(model=model, status=model_call_status(error)).inc()

    def _forget(self, run_id: UUID) -> tuple[str, UUID | None]:
        self.calls += 1
        model = self._model_by_run.pop(run_id, UNKNOWN_MODEL)
        return model, self._parent_by_run.pop(run_id, None)


def token_usage(response: LLMResult) -> tuple[int, int]:
    """Returns (input, output) tokens of a model answer, 0 when the model reported none."""
    for generations in response.generations:
        for generation in generations:
            if isinstance(generation, ChatGeneration):
                usage = getattr(generation.message, "usage_metadata", None) or {}
                return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return 0, 0
