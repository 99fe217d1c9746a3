"""Translates the graph's stream into turn events: a pure state machine, unit-tested on its own.

Input is `graph.astream(..., stream_mode=["custom", "updates"], version="v2")`:
- `custom` parts give the model node's tokens (`agent.graph` writes them), which become `chunk`s as
  they arrive;
- `updates` parts give each node's finished output: the model's tool calls become `tool_use`s and
  the tool node's results become `tool_output`s, one per call, in call order.
A model message whose text was never streamed token by token (a non-streaming model, or a reply the
graph wrote itself) is emitted whole from its update, so no answer text is ever lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage

from agent.graph import CALL_MODEL, TOOLS
from agent.messages import add_token_usage
from agent.reasoning import ThinkFilter, strip_think_blocks
from api.stream.cards import tool_output_event
from api.stream.events import TextChunk, ToolOutput, ToolUse, TurnEvent


@dataclass
class TurnTranslator:
    """Turns stream parts of one turn into events, remembering what it already emitted.

    Attributes:
        tool_calls: Tool calls seen so far, by id, as (name, args).
        tools_called: Tool names in the order they were called.
        answer_text: All assistant text emitted this turn.
        usage: Token counts summed over the turn's model calls.
    """

    tool_calls: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    tools_called: list[str] = field(default_factory=list)
    answer_text: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    _text_by_message: dict[str, list[str]] = field(default_factory=dict)
    _think_filters: dict[str, ThinkFilter] = field(default_factory=dict)
    text_after_last_tool: bool = False

    def text_not_saved(self, saved_message_ids: set[str]) -> str:
        """Returns the assistant text the client saw whose message is not in saved history.

        That is the answer a cancelled or failed model call was streaming.
        """
        return "".join(
            "".join(pieces)
            for message_id, pieces in self._text_by_message.items()
            if message_id not in saved_message_ids
        )

    def feed(self, part: Mapping[str, Any]) -> list[TurnEvent]:
        """Returns the events one stream part produces (often none)."""
        if part.get("ns"):
            return []  # subgraph parts; this graph has none
        kind = part.get("type")
        if kind == "custom":
            token = part["data"]
            if isinstance(token, AIMessageChunk):
                return self._text_event(token, self._visible_token_text(token))
            return []
        if kind == "updates":
            events: list[TurnEvent] = []
            for node, update in part["data"].items():
                events.extend(self._from_update(node, update))
            return events
        return []

    def _visible_token_text(self, chunk: AIMessageChunk) -> str:
        """The part of a streamed piece the customer may see: never `<think>` reasoning."""
        think = self._think_filters.setdefault(chunk.id or "", ThinkFilter())
        return think.feed(chunk.text)

    def _text_event(self, message: BaseMessage, text: str | None = None) -> list[TurnEvent]:
        text = message.text if text is None else text
        if not text:
            return []
        self._text_by_message.setdefault(message.id or "", []).append(text)
        self.answer_text.append(text)
        self.text_after_last_tool = True
        return [TextChunk(text=text, message_id=message.id)]

    def _from_update(self, node: str, update: Any) -> list[TurnEvent]:
        if not isinstance(update, Mapping):
            return []
        messages = update.get("messages") or []
        events: list[TurnEvent] = []
        for message in messages:
            if node == CALL_MODEL and isinstance(message, AIMessage):
                events.extend(self._from_model_message(message))
            elif node == TOOLS and isinstance(message, ToolMessage):
                events.append(self._from_tool_message(message))
        return events

    def _unstreamed_text(self, message: AIMessage) -> list[TurnEvent]:
        """Emits what the saved message says beyond what its tokens showed.

        Usually nothing. The whole text for a model that does not stream; the rest when the graph
        replaced a blank or tool-calling answer by one of its own replies under the same id.
        """
        final = strip_think_blocks(str(message.text))
        shown = "".join(self._text_by_message.get(message.id or "", []))
        if not final.strip() or final == shown:
            return []
        if not shown.strip():
            missing = final
        elif final.startswith(shown):
            missing = final[len(shown) :]
        else:
            missing = " " + final
        return self._text_event(message.model_copy(update={"content": missing}))

    def _from_model_message(self, message: AIMessage) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        events.extend(self._unstreamed_text(message))
        add_token_usage(self.usage, message)
        for call in message.tool_calls:
            call_id = call.get("id") or ""
            self.tool_calls[call_id] = (call["name"], dict(call["args"]))
            self.tools_called.append(call["name"])
            events.append(ToolUse(id=call_id, name=call["name"], args=dict(call["args"])))
        return events

    def _from_tool_message(self, message: ToolMessage) -> ToolOutput:
        self.text_after_last_tool = False
        return tool_output_event(message, self.tool_calls)
