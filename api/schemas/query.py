"""The request and response bodies of the HTTP API, documented field by field for /docs."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.stream.sse import StreamFormat

SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]*[A-Za-z0-9][A-Za-z0-9._:-]*$"
"""Letters, digits and `. _ : -`, with at least one letter or digit (`..` is not a session)."""
SESSION_ID_MAX_CHARS = 128
DEFAULT_MAX_QUERY_CHARS = 4000

SessionIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=SESSION_ID_MAX_CHARS,
        pattern=SESSION_ID_PATTERN,
        description="The session id sent with POST /query.",
        examples=["premium_client-1732470000000"],
    ),
]
"""A session id in a URL path, validated like the one in the body of POST /query."""

StreamFormatQuery = Annotated[
    StreamFormat, Query(description="text (the chat frontend's) or json.")
]
"""The `stream_format` query parameter of the routes that stream a session's events."""


class QueryRequest(BaseModel):
    """One customer message, answered as a Server-Sent Event stream."""

    model_config = ConfigDict(extra="ignore")

    query: str = Field(
        min_length=1,
        description="What the customer typed; at most MAX_QUERY_CHARS (4000) characters.",
        examples=["What's the weather in Miami?"],
    )
    session_id: str = Field(
        min_length=1,
        max_length=SESSION_ID_MAX_CHARS,
        pattern=SESSION_ID_PATTERN,
        description="The conversation this message belongs to; its history is kept under it.",
        examples=["premium_client-1732470000000"],
    )
    user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=SESSION_ID_MAX_CHARS,
        pattern=SESSION_ID_PATTERN,
        description="Who bookings are made for: only with a customer_token signed for that "
        "customer, or from the operator; bookings belong to the session when absent.",
        examples=["customer-42"],
    )
    customer_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="A JWT (HS256, CUSTOMER_TOKEN_SECRET) from the dealer's login system: its "
        "`sub` is the customer bookings are made for.",
    )
    stream_format: StreamFormat = Field(
        default=StreamFormat.TEXT,
        description="text: the chat frontend's format (default); json: one JSON object per event.",
        examples=["text", "json"],
    )
    checkpoint_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description=(
            "Continue from this checkpoint of the session (one whose `next` is empty in "
            "GET /sessions/{session_id}/checkpoints) instead of its latest: the new branch "
            "becomes the session's head and the old one stays listed."
        ),
        examples=[None, "1f1e8505-fd4b-622f-8003-60ee1cfc00af"],
    )

    @field_validator("query")
    @classmethod
    def query_has_text(cls, query: str) -> str:
        """Rejects a message made only of white space, or holding control characters.

        A NUL or another control character is never typed by a customer, and some databases
        cannot store it (Postgres refuses NUL in text): refused here, before anything is saved.
        """
        if not query.strip():
            raise ValueError("query must contain some text")
        if any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in query):
            raise ValueError("query must not contain control characters")
        return query


class ModelResolutionInfo(BaseModel):
    """How the answering Groq model was chosen (operator detail)."""

    requested: str | None = Field(
        description="MODEL_NAME, or null when unset.", examples=["llama-3.3-70b-versatile"]
    )
    answering: str = Field(
        description="The model id that answers.", examples=["openai/gpt-oss-120b"]
    )
    replaced: str | None = Field(
        description="The configured id another model answers for, or null.",
        examples=["llama-3.3-70b-versatile"],
    )
    reason: str = Field(
        description="Why this model answers.",
        examples=[
            "llama-3.3-70b-versatile is retired for this account; answering with "
            "openai/gpt-oss-120b"
        ],
    )
    fallbacks: list[str] = Field(description="Models tried in order when it fails.")
    served_listed: bool = Field(description="Whether Groq's list of served models was read.")
    substitutions: int = Field(description="Times the answering model changed since startup.")
    fallbacks_taken: int = Field(description="Model calls handed to a fallback since startup.")


class ModelInfo(BaseModel):
    """The chat model answering."""

    provider: str = Field(description="groq or offline.", examples=["groq"])
    name: str = Field(description="Model id.", examples=["openai/gpt-oss-120b"])
    warning: str | None = Field(default=None, description="What an operator should know.")
    error: str | None = Field(
        default=None, description="A problem an operator must fix, seen on a recent turn."
    )
    resolution: ModelResolutionInfo | None = Field(
        default=None, description="How the Groq model was chosen; null for other providers."
    )


class HealthResponse(BaseModel):
    """Whether the service can answer."""

    status: str = Field(
        description="healthy; degraded (the model rejects our calls); unhealthy (no database "
        "or no Redis).",
        examples=["healthy"],
    )
    offline: bool | None = Field(
        default=None, description="Anonymous callers: whether the offline stand-in answers."
    )
    model: ModelInfo | None = Field(default=None, description="The operator only.")
    database: str | None = Field(
        default=None,
        description="ok, or the error reaching it (the operator only).",
        examples=["ok"],
    )
    coordination: str | None = Field(
        default=None,
        description="ok, or the error reaching Redis (always ok for in-process coordination; "
        "the operator only).",
        examples=["ok"],
    )


class ErrorBody(BaseModel):
    """What went wrong with a request."""

    code: str = Field(description="Machine-readable reason.", examples=["invalid_request"])
    message: str = Field(description="Human-readable explanation.")
    details: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems.")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody
