"""Cuts what the model sees down to a token budget; the saved conversation is never trimmed.

A long session would otherwise send its whole history on every call: each turn slower and dearer
than the last, and sooner or later over the model's context window. The cut keeps the newest
messages that fit and always starts on a customer message (`trim_messages(start_on="human")`),
so an assistant's tool calls are never separated from their results. The caller prepends the
system prompt, which is never cut.

Each message's token count is remembered (messages are never changed once saved), so a cut costs
dictionary lookups for the messages it keeps instead of counting their text again at every turn.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

COUNTS_KEPT = 50_000
"""Messages whose token counts are remembered (a few hundred bytes each)."""

_counts: OrderedDict[int, tuple[BaseMessage, int]] = OrderedDict()
"""By `id()` of a message: the message (so the id is not reused while kept) and its count."""


def message_tokens(message: BaseMessage) -> int:
    """`count_tokens_approximately([message])`, counted once per message object."""
    kept = _counts.get(id(message))
    if kept is not None and kept[0] is message:
        return kept[1]
    count = count_tokens_approximately([message])
    _counts[id(message)] = (message, count)
    if len(_counts) > COUNTS_KEPT:
        _counts.popitem(last=False)
    return count


def tokens(messages: Sequence[BaseMessage]) -> int:
    """`count_tokens_approximately(messages)`: it rounds each message up, so counts add up."""
    return sum(message_tokens(message) for message in messages)


def trim_for_model(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    """Returns the newest part of the conversation that fits in `max_tokens`.

    Same result as `trim_messages(messages, strategy="last", start_on="human", ...)` with the
    approximate token counter, with two differences that matter to a chat service:
    - The current turn is never cut: when even the last customer message and what followed it do
      not fit, they are returned whole rather than an empty conversation.
    - It costs time in proportion to what is kept, not to the whole history: one walk back from
      the newest message, each message's count remembered.

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
    kept = _newest_that_fit(messages, max_tokens)
    current_turn = _current_turn(messages)
    if len(kept) < len(current_turn):
        return current_turn
    return kept


def _newest_that_fit(messages: Sequence[BaseMessage], max_tokens: int) -> list[BaseMessage]:
    """The cut of `trim_messages(strategy="last", start_on="human")`, in one walk from the end.

    The longest suffix within budget, then cut to its first customer message; counts add up, so
    walking back from the newest message until the budget is passed finds that suffix.
    """
    start = len(messages)
    total = 0
    for index in range(len(messages) - 1, -1, -1):
        total += message_tokens(messages[index])
        if total > max_tokens:
            break
        start = index
    for first in range(start, len(messages)):
        if isinstance(messages[first], HumanMessage):
            return list(messages[first:])
    return []


def _current_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Returns the last customer message and everything after it (all, if there is none)."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return list(messages[index:])
    return list(messages)
