"""The response bodies of the `/sessions` routes, documented field by field for /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SESSION_ID_EXAMPLE = "premium_client-1732470000000"
THREAD_ID_EXAMPLE = "0b6b8f0e-3c5e-5d7a-9f51-6a4f0f0d7c11"
CHECKPOINT_ID_EXAMPLE = "1f1e8505-fd4b-622f-8003-60ee1cfc00af"


class SessionSummary(BaseModel):
    """One saved conversation, as the session list shows it."""

    session_id: str = Field(
        description="The client's id for the conversation.", examples=[SESSION_ID_EXAMPLE]
    )
    thread_id: str = Field(
        description="The LangGraph thread (a UUID, as Studio needs) its history is saved under.",
        examples=[THREAD_ID_EXAMPLE],
    )
    title: str = Field(
        description="The first user message, shortened to 60 characters.",
        examples=["What's the weather in Miami?"],
    )
    created_at: datetime = Field(
        description="When its first turn started (UTC).", examples=["2026-11-24T15:00:00.000000Z"]
    )
    updated_at: datetime = Field(
        description="When its latest turn started (UTC).", examples=["2026-11-24T15:02:10.120000Z"]
    )
    turn_count: int = Field(
        description="Turns started on the session, on every branch.", examples=[3]
    )


class CreatedSession(BaseModel):
    """A new session and the secret that opens it (shown once; only its hash is kept)."""

    session_id: str = Field(
        description="The new session's id: send it with POST /query.",
        examples=["s-3q2Vn0m1bXc7Hk9TzQe4Ra8L"],
    )
    secret: str = Field(
        description="Send as `Authorization: Bearer <secret>` on POST /query and every "
        "/sessions/{session_id} route; keep it like a password.",
        examples=["Zq3o0Jtq6yq0bXr4m0P6w2b1xg3d9Vb0Yl2mQ8Hk5sA"],
    )


class SessionList(BaseModel):
    """A page of sessions, most recently updated first."""

    sessions: list[SessionSummary] = Field(description="The sessions on this page.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page.",
        examples=["WyIyMDI2LTExLTI0VDE1OjAyOjEwLjEyMDAwMCswMDowMCIsImRlbW8tMSJd", None],
    )


class ToolCallInfo(BaseModel):
    """A tool call an assistant message asked for."""

    id: str | None = Field(description="The call id.", examples=["call_0"])
    name: str = Field(description="The tool's name.", examples=["get_weather"])
    args: dict[str, Any] = Field(
        description="The arguments, as the model wrote them.", examples=[{"city": "Miami"}]
    )


class TranscriptMessage(BaseModel):
    """One message of a saved conversation."""

    turn: int = Field(description="The turn it belongs to; 1 for the first.", examples=[1])
    role: Literal["user", "assistant", "tool"] = Field(
        description="Who wrote it: the user, the assistant (the model) or a tool.",
        examples=["assistant"],
    )
    id: str | None = Field(description="The message id.", examples=["lc_run--01a2-0"])
    text: str = Field(
        description="Its text; for a tool, the compact JSON the model read.",
        examples=["It is sunny in Miami today, 30°C."],
    )
    created_at: datetime | None = Field(
        default=None,
        description="When it was saved (the first checkpoint holding it); null if unknown.",
        examples=["2026-11-24T15:00:01.250000Z"],
    )
    tool_calls: list[ToolCallInfo] = Field(
        default_factory=list,
        description="For an assistant message: the tool calls it asked for, with arguments.",
    )
    tool_call_id: str | None = Field(
        default=None, description="For a tool result: the call it answers.", examples=["call_0"]
    )
    name: str | None = Field(
        default=None, description="For a tool result: the tool's name.", examples=["get_weather"]
    )
    status: Literal["success", "error"] | None = Field(
        default=None,
        description="For a tool result: whether the call worked.",
        examples=["success"],
    )
    output: Any = Field(
        default=None,
        description="For a tool result: the card, exactly as `tool_output` streamed it.",
        examples=["The weather in Miami is sunny, 30°C, humidity 70%, wind 12 km/h."],
    )
    error: str | None = Field(
        default=None,
        description="For a failed tool call: what went wrong.",
        examples=["Unknown dealership 'paris'."],
    )


class SessionDetail(SessionSummary):
    """A saved conversation with its transcript (the current branch)."""

    messages: list[TranscriptMessage] = Field(
        description="The conversation of the current branch, oldest first."
    )


class CheckpointItem(BaseModel):
    """One saved checkpoint of a session."""

    checkpoint_id: str = Field(
        description="Its id; send it as `checkpoint_id` to POST /query to continue from it.",
        examples=[CHECKPOINT_ID_EXAMPLE],
    )
    parent_checkpoint_id: str | None = Field(
        description="The checkpoint it follows; null for the session's first.",
        examples=["1f1e8505-fd48-60d5-8002-115cecd0a91f"],
    )
    step: int = Field(
        description="Graph step: -1 when a user message arrives, then 0, 1, ...", examples=[3]
    )
    created_at: datetime | None = Field(
        description="When it was written (UTC).", examples=["2026-11-24T15:00:02.020000Z"]
    )
    source: str = Field(
        description="input (a user message arrived), loop (a node finished), update or fork.",
        examples=["loop"],
    )
    message_count: int = Field(description="Messages in the conversation there.", examples=[4])
    next: list[str] = Field(
        description="Nodes still to run from it; empty at the end of a turn (a fork point).",
        examples=[[], ["tools"]],
    )


class DeletedSession(BaseModel):
    """The answer to `DELETE /sessions/{session_id}`."""

    deleted: bool = Field(description="Always true: the history and the entry are gone.")
    session_id: str = Field(description="The deleted session.", examples=[SESSION_ID_EXAMPLE])


class TurnStartPayload(BaseModel):
    """The data of a replay's `turn` event, sent before each turn's events."""

    index: int = Field(description="The turn's number; 1 for the first.", examples=[1])
    query: str = Field(
        description="What the user typed in that turn.", examples=["What's the weather in Miami?"]
    )
