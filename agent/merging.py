"""Merges a step's new messages into the conversation without re-indexing the whole history.

LangGraph's delta reducer for messages (`_messages_delta_reducer`) builds an index of every saved
message id on each call, so each step of a turn costs time in proportion to the session (half a
millisecond per call at 2,500 messages, three or four calls per turn). Almost every step only
appends messages with new ids; this reducer keeps the id set of the conversations it produced
last, so appending checks the new ids against it, and hands anything else (a replaced or removed
message, a raw dict, a message without id) to LangGraph's reducer, so the result is always the same.

A conversation and the one appended to it share one id set, grown in place, so a step costs time in
proportion to its new messages, not a copy of every id. A set may then also hold ids appended to
another branch of the same conversation (a fork): an id found there only sends that merge to
LangGraph's reducer, which gives the exact result; an id is never missing from a set.

Relies on `langgraph.graph.message._messages_delta_reducer` (private, experimental in langgraph
1.2): the batch reducer LangGraph documents for `DeltaChannel`. If it moves, the import fails at
start-up; if its merge rules change, `tests/agent/test_merging.py` compares the two.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AnyMessage, BaseMessage, RemoveMessage
from langgraph.graph.message import _messages_delta_reducer

KEPT_INDEXES = 256
"""Conversations whose id sets are kept: one per session stepping at about the same time."""

_Key = tuple[int, int]
_indexes: OrderedDict[_Key, tuple[list[AnyMessage], set[str]]] = OrderedDict()
"""By (length, `id()` of the last message) of a conversation this module returned: that list
(which keeps its last message alive, so the id is not reused while kept) and its message ids (a
superset: see above).
LangGraph copies the list between steps, so a conversation is found by its content: a candidate
counts only if it holds the very same messages (list equality tries identity first, so checking
costs a pointer comparison per message, in C)."""


def _flatten(writes: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for write in writes:
        if isinstance(write, list):
            flat.extend(write)
        else:
            flat.append(write)
    return flat


def _key(messages: list[AnyMessage]) -> _Key:
    return (len(messages), id(messages[-1]))


def _ids_of(state: list[AnyMessage]) -> set[str] | None:
    """The ids of `state`'s messages, or more; None when a message is not one with an id."""
    key = _key(state)
    kept = _indexes.get(key)
    if kept is not None and kept[0] == state:
        _indexes.move_to_end(key)
        return kept[1]
    if not all(isinstance(m, BaseMessage) and m.id is not None for m in state):
        return None
    return {str(m.id) for m in state}


def merge_messages(state: list[AnyMessage], writes: Sequence[Any]) -> list[AnyMessage]:
    """`_messages_delta_reducer(state, writes)`, in time proportional to `writes` when appending.

    Args:
        state: The conversation so far.
        writes: The step's writes: messages or lists of messages.

    Returns:
        A new list; `state` is not changed.
    """
    new = _flatten(writes)
    ids = _ids_of(state) if state else set()
    appendable = (
        ids is not None
        and all(
            isinstance(m, BaseMessage) and not isinstance(m, RemoveMessage) and m.id is not None
            for m in new
        )
        and len({m.id for m in new}) == len(new)
        and not any(m.id in ids for m in new)
    )
    if not appendable or ids is None:
        return _messages_delta_reducer(state, list(writes))
    merged: list[AnyMessage] = [*state, *new]
    if merged:
        ids.update(str(m.id) for m in new)
        _indexes[_key(merged)] = (merged, ids)
    while len(_indexes) > KEPT_INDEXES:
        _indexes.popitem(last=False)
    return merged
