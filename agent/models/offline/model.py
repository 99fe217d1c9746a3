"""A scripted, rule-based stand-in for the LLM so Lex runs with no API key and no network.

`OfflineChatModel` is the LangChain wrapper: it asks `decide` for the next step of the rules in the
other modules of this package and returns or streams it token by token, as a provider would.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from agent.models.offline.answers import answer_results
from agent.models.offline.conversation import (
    Conversation,
    message_text,
    read_conversation,
    tool_results,
)
from agent.models.offline.facts import DEFAULT_TIMEZONE, Facts, read_facts
from agent.models.offline.flow import advance
from agent.models.offline.parsing import Slots
from agent.models.offline.phrasing import (
    BOOKING_OFFERS,
    OFFER_RETRY,
    OFFER_SLOT,
    OFFER_TEST_DRIVE,
    OFFER_THERE,
)
from agent.models.offline.planning import Plan, Reply, plan_reply
from agent.models.offline.questions import small_talk
from tools.domain.directory import Dealership
from tools.names import GET_WEATHER

__all__ = [
    "BOOKING_OFFERS",
    "MODEL_NAME",
    "OFFER_RETRY",
    "OFFER_SLOT",
    "OFFER_TEST_DRIVE",
    "OFFER_THERE",
    "Facts",
    "OfflineChatModel",
    "Reply",
    "decide",
]

logger = logging.getLogger(__name__)

MODEL_NAME = "lex-offline"


def decide(
    messages: Sequence[BaseMessage],
    tool_names: frozenset[str] = frozenset(),
    *,
    facts: Facts | None = None,
    weather_takes_date: bool = False,
) -> Reply:
    """Decides the model's next step from the conversation alone.

    Args:
        messages: The conversation, system prompt included.
        tool_names: The tools the model may call; requests for other tools get an apology.
        facts: The directory, lineup and today; read from the system prompt's date when None.
        weather_takes_date: Whether the bound weather tool takes a `date` (a forecast).

    Returns:
        Tool calls for a request understood with every detail, otherwise non-empty text.
    """
    if facts is None:
        facts = read_facts((), now=None, timezone=DEFAULT_TIMEZONE, system_texts=_system(messages))
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if not humans:
        return Reply(text=small_talk("hello", Slots(), facts))
    conversation = read_conversation(
        messages, facts, tool_names, weather_takes_date=weather_takes_date
    )
    text = message_text(messages[humans[-1]])
    plan = plan_reply(text, conversation)
    if humans[-1] == len(messages) - 1:
        return plan.reply
    if not isinstance(messages[-1], ToolMessage):
        return Reply(text="Is there anything else I can help you with?")
    return _continue_turn(plan, messages[humans[-1] + 1 :], conversation)


def _continue_turn(plan: Plan, turn: Sequence[BaseMessage], conversation: Conversation) -> Reply:
    """The step after tool results: the goal's next calls, or the answer to everything done."""
    results = tool_results(turn)
    goal_text, used = "", frozenset[str]()
    if plan.goal is not None:
        outcome = advance(plan.goal, results, conversation)
        made = [(name, args) for name, args, _ in results]
        new_calls = tuple(call for call in outcome.calls if call not in made)
        if new_calls:
            return Reply(tool_calls=new_calls)
        goal_text, used = outcome.text, outcome.used
    rest = [result for result in results if result[2].tool_call_id not in used]
    answers, closing = answer_results(rest, conversation.facts, window=plan.window)
    notes = list(plan.notes) if any(name == GET_WEATHER for name, _, _ in rest) else []
    parts = [*notes, *answers, goal_text, "" if goal_text else closing]
    return Reply(text=" ".join(part for part in parts if part).strip() or "Done.")


def _system(messages: Sequence[BaseMessage]) -> list[str]:
    return [str(m.text) for m in messages if isinstance(m, SystemMessage)]


class OfflineChatModel(BaseChatModel):
    """Deterministic, rule-based chat model used when no Groq API key is configured.

    It understands plain-English requests for Lex's tools, asks one short question when a detail
    is missing, and answers from tool results. Use `bind_tools` as with `ChatGroq`; it only calls
    tools bound by name. It streams word by word and tool calls as `tool_call_chunks`.

    Attributes:
        model_name: Reported in response metadata; says plainly that this is not an LLM.
        token_delay_s: Pause between streamed tokens in async streaming, for demos and tests.
        directory: The dealerships it knows (names, aliases, states, hours, models); without
            one, a named place is passed to the tools as it is.
        clock: Where "now" comes from; without one, today is read from the system prompt.
        timezone: Where today is read when no dealership is named.
    """

    model_name: str = MODEL_NAME
    token_delay_s: float = Field(default=0.0, ge=0.0)
    directory: tuple[Dealership, ...] = Field(default=(), exclude=True)
    clock: Callable[[], datetime] | None = Field(default=None, exclude=True)
    timezone: str = DEFAULT_TIMEZONE

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Binds tools as OpenAI-style schemas, the way `ChatGroq` does.

        Args:
            tools: Tools, functions or schemas.
            tool_choice: "none" stops all tool calls; other values are accepted and ignored.
            **kwargs: Further arguments bound to the model.

        Returns:
            The model with the tools bound.
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _render(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> _Rendered:
        facts = read_facts(
            self.directory,
            now=self.clock() if self.clock else None,
            timezone=self.timezone,
            system_texts=_system(messages),
        )
        reply = decide(
            messages,
            _bound_tool_names(kwargs),
            facts=facts,
            weather_takes_date="date" in _bound_parameters(kwargs, GET_WEATHER),
        )
        logger.debug(
            "offline reply: %d tool call(s), %d chars", len(reply.tool_calls), len(reply.text)
        )
        return _Rendered.of(reply, messages, self.model_name)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._render(messages, kwargs).message()
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._render(messages, kwargs).chunks():
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for index, chunk in enumerate(self._render(messages, kwargs).chunks()):
            if index and self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield ChatGenerationChunk(message=chunk)


def _bound_tool_names(kwargs: dict[str, Any]) -> frozenset[str]:
    if kwargs.get("tool_choice") == "none":
        return frozenset()
    names = set()
    for tool in kwargs.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


def _bound_parameters(kwargs: dict[str, Any], tool_name: str) -> frozenset[str]:
    """The parameter names of a bound tool's schema."""
    for tool in kwargs.get("tools") or ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.get("name") == tool_name:
            properties = (function.get("parameters") or {}).get("properties") or {}
            return frozenset(properties)
    return frozenset()


@dataclass(frozen=True)
class _Rendered:
    """A reply with the ids, token counts and metadata a real provider attaches."""

    text: str
    tool_calls: tuple[tuple[str, dict[str, Any], str], ...]
    usage: UsageMetadata
    response_metadata: dict[str, Any]

    @classmethod
    def of(cls, reply: Reply, messages: Sequence[BaseMessage], model_name: str) -> _Rendered:
        text = " ".join(reply.text.split())
        # Unique within a conversation and repeatable: derived from everything said before.
        history = json.dumps([[m.type, message_text(m)] for m in messages], ensure_ascii=False)
        digest = hashlib.sha256(history.encode()).hexdigest()[:12]
        calls = tuple(
            (name, args, f"call_{digest}_{index}")
            for index, (name, args) in enumerate(reply.tool_calls)
        )
        input_tokens = sum(len(re.findall(r"\w+|[^\w\s]", message_text(m))) for m in messages)
        output_tokens = len(_words(text)) + sum(1 + len(_pieces(args)) for _, args, _ in calls)
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        metadata = {"finish_reason": "tool_calls" if calls else "stop", "model_name": model_name}
        return cls(text, calls, usage, metadata)

    def message(self) -> AIMessage:
        """The whole reply as one message, as `invoke` returns it."""
        return AIMessage(
            content=self.text,
            tool_calls=[tool_call(name=n, args=a, id=i) for n, a, i in self.tool_calls],
            usage_metadata=self.usage,
            response_metadata=dict(self.response_metadata),
        )

    def chunks(self) -> Iterator[AIMessageChunk]:
        """The reply as streamed: words, then each tool call's name and argument pieces."""
        for word in _words(self.text):
            yield AIMessageChunk(content=word)
        for index, (name, args, call_id) in enumerate(self.tool_calls):
            yield AIMessageChunk(
                content="",
                tool_call_chunks=[tool_call_chunk(name=name, args="", id=call_id, index=index)],
            )
            for piece in _pieces(args):
                yield AIMessageChunk(
                    content="",
                    tool_call_chunks=[tool_call_chunk(name=None, args=piece, id=None, index=index)],
                )
        yield AIMessageChunk(
            content="",
            usage_metadata=self.usage,
            response_metadata=dict(self.response_metadata),
            chunk_position="last",
        )


def _words(text: str) -> list[str]:
    """Splits text the way LLM tokens stream: each word with its leading space."""
    return re.findall(r"\s*\S+", text)


def _pieces(args: dict[str, Any]) -> list[str]:
    """Splits tool arguments (JSON) into streamed pieces, one per field."""
    parts = json.dumps(args, ensure_ascii=False).split(",")
    return [f"{part}," for part in parts[:-1]] + [parts[-1]]
