"""Turns a session's saved messages back into turns: the transcript and the replayed events.

Replay rebuilds each turn's events from the checkpointed messages with the same event types and the
same card logic (`api.stream.cards`) as the live translation in `api.turns.translate`, so a
replayed turn reads like the original, except that each assistant message arrives as one `chunk`
instead of token by token and the ids of the original run (run id, latency) are not saved and so
not repeated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.messages import add_token_usage
from agent.reasoning import strip_think_blocks
from api.stream.cards import tool_output_event
from api.stream.events import (
    TextChunk,
    ToolUse,
    TurnEnd,
    TurnError,
    TurnEvent,
    TurnStatus,
)

Role = Literal["user", "assistant", "tool"]

TURN_OUTCOME_KEY = "lex_turn_outcome"
"""`response_metadata` key of the closing message saved for a failed or stopped turn.

Its value is `{"status": "error" | "cancelled", "error": {"code", "message", "retryable"} | None}`;
with it, a replay ends that turn as the original did (an `error` event, then `end` with the status).
"""


@dataclass(frozen=True)
class SavedTurn:
    """One turn as saved: the user's message and everything the graph added after it.

    Attributes:
        index: 1 for the session's first turn.
        query: What the user typed.
        messages: The turn's messages in order, the user's message first.
    """

    index: int
    query: str
    messages: list[BaseMessage]

    @property
    def finished(self) -> bool:
        """Whether the turn ended with an answer (a model message without tool calls)."""
        last = self.messages[-1]
        return isinstance(last, AIMessage) and not last.tool_calls and len(self.messages) > 1


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of a transcript, in the shape `GET /sessions/{id}` returns.

    Attributes:
        turn: The index of the turn it belongs to (1 for the first).
        role: user, assistant or tool.
        id: The message id.
        text: The message text (for a tool, what the model read).
        created_at: When the checkpoint that first held it was written, if known.
        tool_calls: The tool calls an assistant message asked for, as {id, name, args}.
        tool_call_id: For a tool result, the call it answers.
        name: For a tool result, the tool's name.
        status: For a tool result, success or error.
        output: For a tool result, its card (as `tool_output` streams it).
        error: For a failed tool call, the error text.
    """

    turn: int
    role: Role
    id: str | None
    text: str
    created_at: datetime | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    status: str | None = None
    output: Any = None
    error: str | None = None


def split_turns(messages: Sequence[BaseMessage]) -> list[SavedTurn]:
    """Groups a conversation into turns, each starting at a user message.

    Messages before the first user message (none in practice) are dropped.
    """
    turns: list[SavedTurn] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(SavedTurn(index=len(turns) + 1, query=message.text, messages=[message]))
        elif turns:
            turns[-1].messages.append(message)
    return turns


def tool_call_args(messages: Sequence[BaseMessage]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Returns every tool call in `messages` by id, as (name, args)."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls[call.get("id") or ""] = (call["name"], dict(call["args"]))
    return calls


def turn_usage(turn: SavedTurn) -> dict[str, int]:
    """Sums the token counts the turn's model messages carry."""
    usage: dict[str, int] = {}
    for message in turn.messages:
        if isinstance(message, AIMessage):
            add_token_usage(usage, message)
    return usage


def turn_outcome(turn: SavedTurn) -> tuple[TurnStatus, TurnError | None]:
    """Returns how a saved turn ended, and its error event if it failed.

    A turn whose closing message carries `TURN_OUTCOME_KEY` ended as that says; otherwise a turn
    with an answer completed and one without (it stopped midway) failed.
    """
    last = turn.messages[-1]
    outcome = last.response_metadata.get(TURN_OUTCOME_KEY) if isinstance(last, AIMessage) else None
    if isinstance(outcome, Mapping) and outcome.get("status") in ("error", "cancelled"):
        status: TurnStatus = "error" if outcome["status"] == "error" else "cancelled"
        error = outcome.get("error")
        if isinstance(error, Mapping):
            return status, TurnError(
                code=str(error.get("code", "internal_error")),
                message=str(error.get("message", "")),
                retryable=bool(error.get("retryable", False)),
            )
        return status, None
    return ("completed" if turn.finished else "error"), None


def replay_turn_events(turn: SavedTurn, session_id: str, thread_id: str) -> list[TurnEvent]:
    """Re-creates the events a turn streamed, from its saved messages, `end` last.

    A failed or stopped turn ends as `turn_outcome` reads it from the saved messages.

    Args:
        turn: The saved turn.
        session_id: The session it belongs to (carried by `end`).
        thread_id: The session's thread id (carried by `end`).
    """
    calls = tool_call_args(turn.messages)
    events: list[TurnEvent] = []
    tools: list[str] = []
    for message in turn.messages[1:]:
        if isinstance(message, AIMessage):
            if text := strip_think_blocks(message.text):
                events.append(TextChunk(text=text, message_id=message.id))
            for call in message.tool_calls:
                tools.append(call["name"])
                events.append(
                    ToolUse(id=call.get("id") or "", name=call["name"], args=dict(call["args"]))
                )
        elif isinstance(message, ToolMessage):
            events.append(tool_output_event(message, calls))
    status, error = turn_outcome(turn)
    if error is not None:
        events.append(error)
    events.append(
        TurnEnd(
            status=status,
            session_id=session_id,
            details={
                "thread_id": thread_id,
                "tools": tools,
                "usage": turn_usage(turn),
                "turn": turn.index,
            },
        )
    )
    return events


def transcript_entries(
    messages: Sequence[BaseMessage], saved_at: Mapping[str, datetime] | None = None
) -> list[TranscriptEntry]:
    """Returns the transcript of a conversation: user, assistant and tool messages with turns.

    Args:
        messages: The conversation, oldest first.
        saved_at: When each message (by id) was first saved, where known.
    """
    saved_at = saved_at or {}
    entries: list[TranscriptEntry] = []
    for turn in split_turns(messages):
        calls = tool_call_args(turn.messages)
        for message in turn.messages:
            created_at = saved_at.get(message.id) if message.id else None
            if isinstance(message, HumanMessage):
                entries.append(
                    TranscriptEntry(turn.index, "user", message.id, message.text, created_at)
                )
            elif isinstance(message, AIMessage):
                entries.append(
                    TranscriptEntry(
                        turn.index,
                        "assistant",
                        message.id,
                        strip_think_blocks(message.text),
                        created_at,
                        tool_calls=[
                            {"id": call.get("id"), "name": call["name"], "args": call["args"]}
                            for call in message.tool_calls
                        ],
                    )
                )
            elif isinstance(message, ToolMessage):
                output = tool_output_event(message, calls)
                entries.append(
                    TranscriptEntry(
                        turn.index,
                        "tool",
                        message.id,
                        message.text,
                        created_at,
                        tool_call_id=message.tool_call_id,
                        name=output.name,
                        status=output.status,
                        output=output.output,
                        error=output.error,
                    )
                )
    return entries
