"""Cuts what the model sees down to a token budget; the saved conversation is never trimmed.

A long session would otherwise send its whole history on every call: each turn slower and dearer
than the last, and sooner or later over the model's context window. The cut keeps the newest
messages that fit and always starts on a customer message (`trim_messages(start_on="human")`),
so an assistant's tool calls are never separated from their results. The caller prepends the
system prompt, which is never cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately


def trim_for_model(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    """Returns the newest part of the conversation that fits in `max_tokens`.

    Same result as `trim_messages(messages, strategy="last", start_on="human", ...)` with the
    approximate token counter, with two differences that matter to a chat service:
    - The current turn is never cut: when even the last customer message and what followed it do
      not fit, they are returned whole rather than an empty conversation.
    - It costs time in proportion to what is kept, not to the whole history: only a tail a little
      longer than the budget is handed to `trim_messages`.

    Args:
        messages: The saved conversation, oldest first, without the system prompt.
        max_tokens: The budget for these messages (the system prompt and tools come on top).

    Returns:
        A suffix of `messages` that starts with a `HumanMessage`; `messages` itself (as a new
        list) when it fits or holds no customer message.

    Raises:
        ValueError: `max_tokens` is not positive.
    """
    if max_tokens <= 0:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    tail = _tail_over_budget(messages, max_tokens)
    kept = trim_messages(
        tail,
        max_tokens=max_tokens,
        token_counter=count_tokens_approximately,
        strategy="last",
        start_on="human",
        include_system=False,
        allow_partial=False,
    )
    current_turn = _current_turn(messages)
    if len(kept) < len(current_turn):
        return current_turn
    return kept


def _tail_over_budget(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    """Returns the shortest suffix sure to hold more than `max_tokens`, or all of `messages`.

    Each message is counted on its own, rounded up, so the running sum overstates the real total
    by less than one token per message; subtracting the message count makes the test certain.
    `trim_messages` keeps the longest suffix that fits, which lies inside any suffix that does
    not, so trimming this tail gives the same answer as trimming everything.
    """
    total = 0
    for walked, index in enumerate(range(len(messages) - 1, -1, -1), start=1):
        total += count_tokens_approximately([messages[index]])
        if total - walked > max_tokens:
            return list(messages[index:])
    return list(messages)


def _current_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Returns the last customer message and everything after it (all, if there is none)."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return list(messages[index:])
    return list(messages)
