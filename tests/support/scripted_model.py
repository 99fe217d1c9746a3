"""A scripted streaming chat model for graph and API tests.

LangChain's `GenericFakeChatModel` drops tool calls when streamed, so this one streams its text
word by word and its tool calls as `tool_call_chunks`, like ChatGroq does. Each call consumes the
next scripted reply; an exception in the script is raised instead, on cue.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolCallChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import Field, PrivateAttr


def text(content: str) -> AIMessage:
    """A scripted plain-text answer."""
    return AIMessage(content=content)


def calls(*tool_calls: tuple[str, dict[str, Any]], content: str = "") -> AIMessage:
    """A scripted answer that asks for tool calls (name, args), with ids call_0, call_1, ..."""
    return AIMessage(
        content=content,
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{index}", "type": "tool_call"}
            for index, (name, args) in enumerate(tool_calls)
        ],
    )


class ScriptedChatModel(BaseChatModel):
    """Replays scripted replies, streaming them token by token.

    Attributes:
        script: Replies in call order: AIMessages, or exceptions to raise.
        token_delay_s: Pause between streamed tokens.
        received: The messages of every call, for assertions on what the model saw.
    """

    # Any: pydantic would try to coerce an exception into an AIMessage.
    script: list[Any] = Field(default_factory=list)
    token_delay_s: float = 0.0
    received: list[list[BaseMessage]] = Field(default_factory=list)
    _calls: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self

    def _next_reply(self, messages: list[BaseMessage]) -> AIMessage:
        self.received.append(list(messages))
        if self._calls >= len(self.script):
            raise AssertionError(f"the script has only {len(self.script)} replies")
        reply = self.script[self._calls]
        self._calls += 1
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next_reply(messages))])

    def _chunks(self, reply: AIMessage) -> Iterator[AIMessageChunk]:
        words = reply.text.split(" ")
        for index, word in enumerate(words):
            token = word if index == 0 else " " + word
            if token:
                yield AIMessageChunk(content=token)
        tool_chunks = [
            ToolCallChunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=i)
            for i, call in enumerate(reply.tool_calls)
        ]
        yield AIMessageChunk(
            content="",
            tool_call_chunks=tool_chunks,
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
            chunk_position="last",
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._next_reply(messages)):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._next_reply(messages)):
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            generation = ChatGenerationChunk(message=chunk)
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=generation)
            yield generation
