"""When each saved message was made, recorded in the message itself.

Transcripts read these times from the messages at the head of a session instead of replaying every
checkpoint to find when each message first appeared.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from langchain_core.messages import BaseMessage

CREATED_AT_KEY = "lex_created_at"
"""`response_metadata` key holding when a message was made (ISO 8601)."""

MessageT = TypeVar("MessageT", bound=BaseMessage)


def stamped(message: MessageT, now: datetime) -> MessageT:
    """Returns a copy of `message` that records when it was made."""
    metadata = {**message.response_metadata, CREATED_AT_KEY: now.isoformat()}
    return message.model_copy(update={"response_metadata": metadata})


def created_at(message: BaseMessage) -> datetime | None:
    """Returns when a stamped message was made, or None."""
    value = message.response_metadata.get(CREATED_AT_KEY)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


TOKEN_COUNT_KEYS = ("input_tokens", "output_tokens", "total_tokens")
"""The token counts a turn reports, live (`end`) and replayed alike."""


def add_token_usage(totals: dict[str, int], message: BaseMessage) -> None:
    """Adds the token counts a model message carries to `totals` (nothing for other messages)."""
    counts = getattr(message, "usage_metadata", None)
    if not counts:
        return
    for key in TOKEN_COUNT_KEYS:
        totals[key] = totals.get(key, 0) + int(counts.get(key, 0))
