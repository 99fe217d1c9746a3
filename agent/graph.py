"""The Lex agent: a model node and a tool node in a loop, until the model answers in plain text.

`build_graph` returns the uncompiled `StateGraph` so each caller compiles it with its own
checkpointer: the API with its saver, LangGraph Studio with none (it brings its own). Everything a
caller may tune is a field of `GraphOptions`, so the app and Studio cannot wire it differently
without saying so.

When a run's context asks for it (`Context.stream_tokens`), the model node writes every piece of
the answer to LangGraph's `custom` stream as it arrives, and the caller streams tokens with
`stream_mode="custom"`. LangGraph's `messages` mode gives the same tokens (Studio uses it), but
its handler walks the whole conversation at every node start to note which messages it has seen:
a cost that grows with the session, paid on every step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, RetryPolicy

from agent.context import Context
from agent.messages import stamped
from agent.model_call import (
    AnswerInterrupted,
    ChunkSink,
    ModelFailureHook,
    ModelLineup,
    ToolCallingModels,
    stream_answer,
)
from agent.prompts import build_system_prompt
from agent.repair import valid_model_input
from agent.state import AgentState
from agent.tool_calls import normalize_tool_calls, tool_node
from agent.trimming import trim_for_model
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

CALL_MODEL = "call_model"
"""Name of the node that asks the chat model for the next message."""
TOOLS = "tools"
"""Name of the node that runs the tools the model asked for."""

STEP_LIMIT_REPLY = (
    "Sorry, I could not finish that request in one go. Could you tell me again, "
    "step by step, what you would like me to do?"
)
EMPTY_ANSWER_REPLY = "Here is what I found. Is there anything else I can help you with?"

MIN_STEPS_FOR_TOOLS = 3
"""Steps a tool call needs before the limit: this model step, the tools, the model's answer."""


@dataclass(frozen=True, kw_only=True)
class GraphOptions:
    """How the graph calls its model; one value wires the app and Studio alike.

    Attributes:
        clock: Source of "now" for the system prompt and message times.
        prompt_facts: Lines appended to the system prompt (the dealership directory).
        fallback_models: Models tried in order when the model fails with one of `fallback_on`.
        fallback_on: The errors that move on to the next fallback model.
        model_retry: When and how often the model node is retried (None: never).
        context_tokens: Token budget of the history sent to the model (None: all of it); the
            saved history is never trimmed.
        model_named: Builds the model a run asks for by `Context.model_name` (Studio's run
            setting); without it, or without a name, the configured model answers.
        lineup: The models that answer now, read at every call (the answering one first, then
            its fallbacks); None for `model` then `fallback_models`.
        on_model_failure: Told of every failed model call, before a fallback or the error.
    """

    clock: Clock = utc_now
    prompt_facts: Sequence[str] = ()
    fallback_models: Sequence[BaseChatModel] = ()
    fallback_on: tuple[type[BaseException], ...] = (Exception,)
    model_retry: RetryPolicy | None = None
    context_tokens: int | None = None
    model_named: Callable[[str], BaseChatModel] | None = None
    lineup: ModelLineup | None = None
    on_model_failure: ModelFailureHook | None = None


def route_model_output(state: AgentState) -> Literal["tools", "__end__"]:
    """Runs the tools when the last assistant message asked for some; otherwise the turn ends."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"


def guard_answer(response: AIMessage, remaining_steps: int) -> AIMessage:
    """Replaces an answer the customer could not use: tools past the step limit, or no text."""
    if response.tool_calls and remaining_steps < MIN_STEPS_FOR_TOOLS:
        # The tools could run, but no step would be left to answer from their results.
        logger.warning("step limit reached; answering without the requested tools")
        return AIMessage(id=response.id, content=STEP_LIMIT_REPLY)
    if not response.tool_calls and not response.text.strip():
        # The chat page drops a turn that has no text, tool cards included.
        return AIMessage(id=response.id, content=EMPTY_ANSWER_REPLY)
    return response


async def answer_once_more_if_switched(
    models: ToolCallingModels,
    model_name: str | None,
    messages: list[BaseMessage],
    options: GraphOptions,
    on_chunk: ChunkSink | None = None,
) -> AIMessage:
    """Streams one answer, once more on the new line-up if the line-up changed as it failed.

    That is a model Groq stopped serving, replaced while the call failed. Never after text reached
    the customer: `AnswerInterrupted` is not retried.
    """
    candidates = models.for_run(model_name)
    try:
        return await stream_answer(
            candidates,
            messages,
            fallback_on=options.fallback_on,
            on_failure=options.on_model_failure,
            on_chunk=on_chunk,
        )
    except AnswerInterrupted:
        raise
    except Exception:
        switched = models.for_run(model_name)
        if [c.name for c in switched] == [c.name for c in candidates]:
            raise
        logger.warning("retrying the model call on %s", switched[0].name)
        return await stream_answer(
            switched,
            messages,
            fallback_on=options.fallback_on,
            on_failure=options.on_model_failure,
            on_chunk=on_chunk,
        )


def build_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    options: GraphOptions | None = None,
) -> StateGraph[AgentState, Context, AgentState, AgentState]:
    """Builds the uncompiled agent graph.

    Args:
        model: The chat model (ChatGroq, the offline model, or a test double); `options.lineup`
            replaces it when set.
        tools: The tools the model may call.
        options: How the model is called; the defaults when None.
    """
    options = options or GraphOptions()
    tool_names = frozenset(tool.name for tool in tools)
    fixed_lineup = [model, *options.fallback_models]
    models = ToolCallingModels(
        options.lineup or (lambda: fixed_lineup), tools, model_named=options.model_named
    )

    async def call_model(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = runtime.context if isinstance(runtime.context, Context) else Context()
        system = build_system_prompt(
            now=options.clock(), timezone=context.timezone, facts=options.prompt_facts
        )
        history: list[BaseMessage] = list(state["messages"])
        if options.context_tokens is not None:
            # Trimming first keeps the per-call cost proportional to what is sent.
            history = trim_for_model(history, options.context_tokens)
        history = valid_model_input(history)
        response = await answer_once_more_if_switched(
            models,
            context.model_name,
            [SystemMessage(system), *history],
            options,
            on_chunk=runtime.stream_writer if context.stream_tokens else None,
        )
        response = normalize_tool_calls(response, tool_names)
        response = guard_answer(response, state["remaining_steps"])
        return {"messages": [stamped(response, options.clock())]}

    builder = StateGraph(AgentState, context_schema=Context)
    builder.add_node(CALL_MODEL, call_model, retry_policy=options.model_retry)
    builder.add_node(TOOLS, tool_node(tools, options.clock))
    builder.add_edge(START, CALL_MODEL)
    builder.add_conditional_edges(CALL_MODEL, route_model_output, [TOOLS, END])
    builder.add_edge(TOOLS, CALL_MODEL)
    return builder


def compile_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    options: GraphOptions | None = None,
    *,
    checkpointer: Checkpointer = None,
) -> CompiledStateGraph[AgentState, Context, AgentState, AgentState]:
    """Builds and compiles the agent graph with the given checkpointer (None for Studio).

    Args:
        model: The chat model.
        tools: The tools the model may call.
        options: How the model is called; the defaults when None.
        checkpointer: Where the conversation is saved.
    """
    return build_graph(model, tools, options).compile(checkpointer=checkpointer, name="lex")
