"""One model call: the model (with tools, fallbacks, or another model by name) streams one answer.

Tokens reach LangGraph's `messages` stream as the model produces them; the node gets the whole
answer back. A failure after visible text is its own error, because retrying or falling back then
would show the customer a second answer glued to the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool

ToolCallingModel = Runnable[LanguageModelInput, BaseMessage]


class AnswerInterrupted(Exception):
    """The model failed after part of its answer had already reached the customer.

    Retrying or falling back to another model then would show a second answer glued to the first,
    so this error is retried by nothing; its `__cause__` is the model's error.
    """


async def stream_answer(model: ToolCallingModel, messages: list[BaseMessage]) -> AIMessage:
    """Streams one model answer (tokens reach LangGraph's stream) and returns it whole.

    Raises:
        AnswerInterrupted: The model failed after streaming some text.
    """
    answer: BaseMessageChunk | None = None
    try:
        async for chunk in model.astream(messages):
            if not isinstance(chunk, BaseMessageChunk):
                raise TypeError(f"chat model streamed {type(chunk).__name__}, not a chunk")
            answer = chunk if answer is None else answer + chunk
    except Exception as error:
        if answer is not None and answer.text.strip():
            raise AnswerInterrupted(str(error)) from error
        raise
    message = message_chunk_to_message(answer) if answer is not None else AIMessage(content="")
    if not isinstance(message, AIMessage):
        raise TypeError(f"chat model returned {type(message).__name__}, not AIMessage")
    return message


class ToolCallingModels:
    """The configured model with the tools bound and its fallbacks, and others built by name.

    Args:
        model: The chat model that answers by default.
        tools: The tools every model is bound to.
        fallbacks: Models tried in order when a model fails with one of `fallback_on`.
        fallback_on: The errors that move on to the next fallback model.
        model_named: Builds the model a run names (Studio's `model_name` run setting).
    """

    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        *,
        fallbacks: Sequence[BaseChatModel] = (),
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        model_named: Callable[[str], BaseChatModel] | None = None,
    ) -> None:
        self._tools = list(tools)
        self._fallbacks = list(fallbacks)
        self._fallback_on = fallback_on
        self._model_named = model_named
        self._default = self._bind(model)
        self._by_name: dict[str, ToolCallingModel] = {}

    def _bind(self, primary: BaseChatModel) -> ToolCallingModel:
        bound: ToolCallingModel = primary.bind_tools(self._tools)
        if self._fallbacks:
            bound = bound.with_fallbacks(
                [fallback.bind_tools(self._tools) for fallback in self._fallbacks],
                exceptions_to_handle=self._fallback_on,
            )
        return bound

    def for_run(self, model_name: str | None) -> ToolCallingModel:
        """Returns the model a run asks for by name, or the configured one."""
        if self._model_named is None or not model_name:
            return self._default
        if model_name not in self._by_name:
            self._by_name[model_name] = self._bind(self._model_named(model_name))
        return self._by_name[model_name]
