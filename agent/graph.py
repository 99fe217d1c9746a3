"""The Lex agent: a model node and a tool node in a loop, until the model answers in plain text.

`build_graph` returns the uncompiled `StateGraph` so each caller compiles it with its own
checkpointer: the API with its SQLite saver, LangGraph Studio with none (it brings its own).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    SystemMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, ToolException
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, Command, RetryPolicy

from agent.context import Context
from agent.prompts import build_system_prompt
from agent.repair import valid_model_input
from agent.state import AgentState
from agent.trimming import trim_for_model

logger = logging.getLogger(__name__)

CALL_MODEL = "call_model"
"""Name of the node that asks the chat model for the next message."""
TOOLS = "tools"
"""Name of the node that runs the tools the model asked for."""
USER_ID_ARG = "user_id"
"""Tool argument hidden from the model, injected as `InjectedState(USER_ID_ARG)`."""

STEP_LIMIT_REPLY = (
    "Sorry, I could not finish that request in one go. Could you tell me again, "
    "step by step, what you would like me to do?"
)
EMPTY_ANSWER_REPLY = "Here is what I found. Is there anything else I can help you with?"

MIN_STEPS_FOR_TOOLS = 3
"""Steps a tool call needs before the limit: this model step, the tools, the model's answer."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Returns the current instant, timezone-aware."""
    return datetime.now(UTC)


CREATED_AT_KEY = "lex_created_at"
"""`response_metadata` key holding when a message was made (ISO 8601), for transcripts."""

MessageT = TypeVar("MessageT", bound=BaseMessage)


def stamped(message: MessageT, now: datetime) -> MessageT:
    """Returns a copy of `message` that records when it was made.

    Transcripts then read times from the messages at the head of a session, instead of replaying
    every checkpoint to find when each message first appeared.
    """
    metadata = {**message.response_metadata, CREATED_AT_KEY: now.isoformat()}
    return message.model_copy(update={"response_metadata": metadata})


def created_at(message: BaseMessage) -> datetime | None:
    """Returns when a stamped message was made, or None."""
    value = message.response_metadata.get(CREATED_AT_KEY)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def tool_error_message(error: Exception) -> str:
    """Turns a failed tool call into text the model can answer to.

    Expected failures (`ToolException`, bad arguments) pass their message on; anything else is a
    bug in a tool, logged with its traceback and reported to the model without internals.
    """
    if isinstance(error, ToolException):
        return f"Error: {error}"
    if isinstance(error, ValueError):
        return f"Error: invalid arguments: {error}"
    logger.exception("tool failed unexpectedly", exc_info=error)
    return (
        "Error: the tool failed unexpectedly and did nothing. Tell the customer it did not work "
        "and offer to try again."
    )


async def inject_user_id(
    request: ToolCallRequest,
    execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
) -> ToolMessage | Command[Any]:
    """Hands the run context's `user_id` to tools as the state field they inject.

    Tools declare `user_id: Annotated[str, InjectedState("user_id")]`: the argument is absent from
    the schema sent to the model, and ToolNode drops any value the model forges for it. The id lives
    in the run context, not in the saved state, so it is set here for each call.
    """
    context = request.runtime.context if request.runtime is not None else None
    user_id = context.user_id if isinstance(context, Context) else Context().user_id
    state = request.state if isinstance(request.state, dict) else {}
    return await execute(request.override(state={**state, USER_ID_ARG: user_id}))


class AnswerInterrupted(Exception):
    """The model failed after part of its answer had already reached the customer.

    Retrying or falling back to another model then would show a second answer glued to the first,
    so this error is retried by nothing; its `__cause__` is the model's error.
    """


async def stream_answer(
    model: Runnable[LanguageModelInput, BaseMessage], messages: list[BaseMessage]
) -> AIMessage:
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


def route_model_output(state: AgentState) -> Literal["tools", "__end__"]:
    """Runs the tools when the last assistant message asked for some; otherwise the turn ends."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"


def build_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    clock: Clock = utc_now,
    prompt_facts: Sequence[str] = (),
    fallback_models: Sequence[BaseChatModel] = (),
    fallback_on: tuple[type[BaseException], ...] = (Exception,),
    model_retry: RetryPolicy | None = None,
    context_tokens: int | None = None,
    model_named: Callable[[str], BaseChatModel] | None = None,
) -> StateGraph[AgentState, Context, AgentState, AgentState]:
    """Builds the uncompiled agent graph.

    Args:
        model: The chat model (ChatGroq, the offline model, or a test double).
        tools: The tools the model may call.
        clock: Source of "now" for the system prompt.
        prompt_facts: Lines appended to the system prompt (the dealership directory).
        fallback_models: Models tried in order when `model` fails with one of `fallback_on`.
        fallback_on: The errors that move on to the next fallback model.
        model_retry: When and how often the model node is retried (None: never).
        context_tokens: Token budget of the history sent to the model (None: all of it); the
            saved history is never trimmed.
        model_named: Builds the model a run asks for by `Context.model_name` (Studio's run
            setting); without it, or without a name, `model` answers.
    """

    def with_tools(primary: BaseChatModel) -> Runnable[LanguageModelInput, BaseMessage]:
        bound: Runnable[LanguageModelInput, BaseMessage] = primary.bind_tools(list(tools))
        if fallback_models:
            bound = bound.with_fallbacks(
                [fallback.bind_tools(list(tools)) for fallback in fallback_models],
                exceptions_to_handle=fallback_on,
            )
        return bound

    default_model = with_tools(model)
    models_by_name: dict[str, Runnable[LanguageModelInput, BaseMessage]] = {}

    def model_for(context: Context) -> Runnable[LanguageModelInput, BaseMessage]:
        if model_named is None or not context.model_name:
            return default_model
        if context.model_name not in models_by_name:
            models_by_name[context.model_name] = with_tools(model_named(context.model_name))
        return models_by_name[context.model_name]

    async def call_model(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = runtime.context if isinstance(runtime.context, Context) else Context()
        system = build_system_prompt(now=clock(), timezone=context.timezone, facts=prompt_facts)
        history: list[BaseMessage] = list(state["messages"])
        if context_tokens is not None:
            # Trimming first keeps the per-call cost proportional to what is sent.
            history = trim_for_model(history, context_tokens)
        history = valid_model_input(history)
        response = await stream_answer(model_for(context), [SystemMessage(system), *history])
        if response.tool_calls and state["remaining_steps"] < MIN_STEPS_FOR_TOOLS:
            # The tools could run, but no step would be left to answer from their results.
            logger.warning("step limit reached; answering without the requested tools")
            response = AIMessage(id=response.id, content=STEP_LIMIT_REPLY)
        elif not response.tool_calls and not response.text.strip():
            # The chat page drops a turn that has no text, tool cards included.
            response = AIMessage(id=response.id, content=EMPTY_ANSWER_REPLY)
        return {"messages": [stamped(response, clock())]}

    async def run_tool(
        request: ToolCallRequest,
        execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        result = await inject_user_id(request, execute)
        return stamped(result, clock()) if isinstance(result, ToolMessage) else result

    builder = StateGraph(AgentState, context_schema=Context)
    builder.add_node(CALL_MODEL, call_model, retry_policy=model_retry)
    builder.add_node(
        TOOLS,
        ToolNode(
            list(tools),
            handle_tool_errors=tool_error_message,
            awrap_tool_call=run_tool,
        ),
    )
    builder.add_edge(START, CALL_MODEL)
    builder.add_conditional_edges(CALL_MODEL, route_model_output, [TOOLS, END])
    builder.add_edge(TOOLS, CALL_MODEL)
    return builder


def compile_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    *,
    checkpointer: Checkpointer = None,
    **options: Any,
) -> CompiledStateGraph[AgentState, Context, AgentState, AgentState]:
    """Builds and compiles the agent graph with the given checkpointer (None for Studio).

    Args:
        model: The chat model.
        tools: The tools the model may call.
        checkpointer: Where the conversation is saved.
        **options: The keyword options of `build_graph`.
    """
    builder = build_graph(model, tools, **options)
    return builder.compile(checkpointer=checkpointer, name="lex")
