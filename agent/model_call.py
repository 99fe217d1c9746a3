"""One model call: the answering model (then its fallbacks, in order) streams one answer.

Each piece of the answer is handed to the caller's `on_chunk` as the model produces it (the graph
writes it to LangGraph's `custom` stream); the node gets the whole answer back, without reasoning.
A failure after visible text is its own error, because retrying or falling back then would show the
customer a second answer glued to the first. Which models answer
may change between calls (a model Groq retired mid-deployment), so the line-up is read per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

from agent.reasoning import strip_think_blocks, without_reasoning

logger = logging.getLogger(__name__)

ToolCallingModel = Runnable[LanguageModelInput, BaseMessage]


class AnswerInterrupted(Exception):
    """The model failed after part of its answer had already reached the customer.

    Retrying or falling back to another model then would show a second answer glued to the first,
    so this error is retried by nothing; its `__cause__` is the model's error.
    """


@dataclass(frozen=True)
class ModelFailed:
    """A model call failed before any text reached the customer.

    Attributes:
        model: The id of the model that failed.
        error: What it raised.
        next_model: The id tried next, or None when none is left (the error then ends the call).
    """

    model: str
    error: BaseException
    next_model: str | None


ModelFailureHook = Callable[[ModelFailed], None]
"""Told of every failed model call (fallbacks, a model Groq no longer serves)."""
ChunkSink = Callable[[BaseMessageChunk], None]
"""Hears every streamed piece of an answer as it arrives (reasoning included: the sink filters)."""


def model_id(model: BaseChatModel) -> str:
    """The model's id (`model_name` for ChatGroq), else its class name."""
    name = getattr(model, "model_name", None)
    return name if isinstance(name, str) and name else type(model).__name__


@dataclass(frozen=True)
class Candidate:
    """One model a call may be answered by: its id and the model with the tools bound."""

    name: str
    model: ToolCallingModel


async def _stream_one(
    model: ToolCallingModel, messages: list[BaseMessage], on_chunk: ChunkSink | None
) -> AIMessage:
    answer: BaseMessageChunk | None = None
    whole: AIMessage | None = None
    try:
        async for chunk in model.astream(messages):
            if isinstance(chunk, AIMessage) and not isinstance(chunk, BaseMessageChunk):
                whole = chunk  # a model that does not stream gives its answer in one message
                continue
            if not isinstance(chunk, BaseMessageChunk):
                raise TypeError(f"chat model streamed {type(chunk).__name__}, not a chunk")
            if on_chunk is not None:
                on_chunk(chunk)
            answer = chunk if answer is None else answer + chunk
    except Exception as error:
        if answer is not None and strip_think_blocks(answer.text).strip():
            raise AnswerInterrupted(str(error)) from error
        raise
    if whole is not None:
        message: BaseMessage = whole
    elif answer is not None:
        message = message_chunk_to_message(answer)
    else:
        message = AIMessage(content="")
    if not isinstance(message, AIMessage):
        raise TypeError(f"chat model returned {type(message).__name__}, not AIMessage")
    return without_reasoning(message)


async def stream_answer(
    candidates: Sequence[Candidate],
    messages: list[BaseMessage],
    *,
    fallback_on: tuple[type[BaseException], ...] = (Exception,),
    on_failure: ModelFailureHook | None = None,
    on_chunk: ChunkSink | None = None,
) -> AIMessage:
    """Streams one answer from the first candidate that gives one and returns it whole.

    A candidate failing with one of `fallback_on` before any text was shown hands the call to the
    next one; `on_failure` hears of every failure; `on_chunk` of every piece streamed.

    Raises:
        AnswerInterrupted: A model failed after streaming some text.
    """
    if not candidates:
        raise ValueError("no model to answer with")
    for index, candidate in enumerate(candidates):
        try:
            return await _stream_one(candidate.model, messages, on_chunk)
        except AnswerInterrupted:
            raise
        except Exception as error:
            last = index == len(candidates) - 1 or not isinstance(error, fallback_on)
            next_model = None if last else candidates[index + 1].name
            if on_failure is not None:
                on_failure(ModelFailed(candidate.name, error, next_model))
            if last:
                raise
            logger.warning(
                "model fallback: %s failed (%s); trying %s",
                candidate.name,
                type(error).__name__,
                next_model,
            )
    raise AssertionError("unreachable")  # pragma: no cover


ModelLineup = Callable[[], Sequence[BaseChatModel]]
"""Returns the models that answer now: the answering one first, then its fallbacks."""


class ToolCallingModels:
    """The answering model and its fallbacks with the tools bound, and others built by name.

    Args:
        lineup: The models that answer now, read at every call.
        tools: The tools every model is bound to.
        model_named: Builds the model a run names (Studio's `model_name` run setting).
    """

    def __init__(
        self,
        lineup: ModelLineup,
        tools: Sequence[BaseTool],
        *,
        model_named: Callable[[str], BaseChatModel] | None = None,
    ) -> None:
        self._lineup = lineup
        self._tools = list(tools)
        self._model_named = model_named
        # Keyed by identity; the model is kept so its id is never reused by another object.
        self._bound: dict[int, tuple[BaseChatModel, Candidate]] = {}
        self._by_name: dict[str, Candidate] = {}

    def _candidate(self, model: BaseChatModel) -> Candidate:
        known = self._bound.get(id(model))
        if known is None:
            known = (model, Candidate(model_id(model), model.bind_tools(self._tools)))
            self._bound[id(model)] = known
        return known[1]

    def for_run(self, model_name: str | None) -> list[Candidate]:
        """Returns the models a run is answered by: the one it names, or the line-up."""
        if self._model_named is None or not model_name:
            return [self._candidate(model) for model in self._lineup()]
        if model_name not in self._by_name:
            model = self._model_named(model_name)
            self._by_name[model_name] = Candidate(model_name, model.bind_tools(self._tools))
        return [self._by_name[model_name]]
