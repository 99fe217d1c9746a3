"""Merges a step's new messages into the conversation without re-indexing the whole history.

LangGraph's delta reducer for messages (`_messages_delta_reducer`) builds an index of every saved
message id on each call, so each step of a turn costs time in proportion to the session (three or
four calls per turn). Almost every step only appends messages with new ids; this reducer keeps an
index of the ids of the conversations it produced last, so appending checks the new ids against
it, and hands anything else (a replaced or removed message, a raw dict, a message without id) to
LangGraph's reducer, so the result is always the same.

A conversation and the one appended to it share one index, grown in place: each id with the
position it was appended at. An id counts as held by a conversation only if the conversation has
that id at one of the id's positions, so one index serves every list built from the same start:
a conversation and its longer successors, and two branches of a fork. This matters on every step:
LangGraph applies a model step's writes twice, once to a copy of the channels so the conditional
edge reads the new message, then for real, both times onto the same conversation. With a set of
ids grown in place the second merge found the new id already "held" and went to LangGraph's
reducer, re-indexing the whole history on every turn: a turn of a 1,000-turn session then ended
5.3 ms after a new session's on the same server, 0.8 ms once both merges append. A position is
checked against the conversation, so neither a longer successor nor another branch misleads it.
Two assumptions, both LangGraph's way: a merged message's id never changes in place (LangGraph only
gives an id to a message that has none, before it is merged), and merges run on one thread (the
event loop's; the index is not locked).

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
"""Conversations whose indexes are kept: one per session stepping at about the same time."""

_Key = tuple[int, int]
_Positions = dict[str, int | list[int]]
"""Message id -> the position it was appended at (several when branches put it apart)."""
_indexes: OrderedDict[_Key, tuple[list[AnyMessage], _Positions]] = OrderedDict()
"""By (length, `id()` of the last message) of a conversation this module returned: that list
(which keeps its last message alive, so the id is not reused while kept) and its index (shared:
see above).
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


def _note(positions: _Positions, message_id: str, position: int) -> None:
    known = positions.get(message_id)
    if known is None:
        positions[message_id] = position
    elif isinstance(known, int):
        if known != position:
            positions[message_id] = [known, position]
    elif position not in known:
        known.append(position)


def _positions_of(state: list[AnyMessage]) -> _Positions | None:
    """The index of `state` (maybe shared); None when a message is not one with an id."""
    key = _key(state)
    kept = _indexes.get(key)
    if kept is not None and kept[0] == state:
        _indexes.move_to_end(key)
        return kept[1]
    positions: _Positions = {}
    for position, message in enumerate(state):
        if not isinstance(message, BaseMessage) or message.id is None:
            return None
        _note(positions, str(message.id), position)
    return positions


def _holds(state: list[AnyMessage], positions: _Positions, message_id: str) -> bool:
    """Whether `state` has a message with this id (`positions` is `state`'s index)."""
    known = positions.get(message_id)
    if known is None:
        return False
    candidates = (known,) if isinstance(known, int) else known
    return any(p < len(state) and state[p].id == message_id for p in candidates)


def merge_messages(state: list[AnyMessage], writes: Sequence[Any]) -> list[AnyMessage]:
    """`_messages_delta_reducer(state, writes)`, in time proportional to `writes` when appending.

    Args:
        state: The conversation so far.
        writes: The step's writes: messages or lists of messages.

    Returns:
        A new list; `state` is not changed.
    """
    new = _flatten(writes)
    positions = _positions_of(state) if state else {}
    appendable = (
        positions is not None
        and all(
            isinstance(m, BaseMessage) and not isinstance(m, RemoveMessage) and m.id is not None
            for m in new
        )
        and len({m.id for m in new}) == len(new)
        and not any(_holds(state, positions, m.id) for m in new)
    )
    if not appendable or positions is None:
        return _messages_delta_reducer(state, list(writes))
    merged: list[AnyMessage] = [*state, *new]
    if merged:
        for position, message in enumerate(new, start=len(state)):
            _note(positions, str(message.id), position)
        key = _key(merged)
        _indexes[key] = (merged, positions)
        _indexes.move_to_end(key)  # the same conversation merged again is the newest too
    while len(_indexes) > KEPT_INDEXES:
        _indexes.popitem(last=False)
    return merged
