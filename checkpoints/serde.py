"""The checkpoint serializer, with the saved messages it has already read kept for the next read.

With the messages channel stored as deltas (see `agent.state`), every turn rebuilds the whole
conversation from its saved writes: one message object per saved message, each built anew. At 400
turns that is 1,000 messages and about a quarter of the service's CPU per turn, growing with the
session. The blobs never change once written, so this serializer builds each one once and hands
the same message objects out again; only blobs holding messages are kept, in a bounded LRU, and
everything else (checkpoints, metadata) is decoded afresh every time, exactly as before.

The Postgres saver decodes in worker threads (`asyncio.to_thread`), so the LRU is guarded by a lock.

Messages read back are shared between reads, so they must not be changed in place; nothing in
LangGraph or Lex does (reducers and repairs build new lists and new messages).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

DEFAULT_MAX_ENTRIES = 20_000
"""Blobs kept: about one message each, a few KiB apiece, so tens of MiB at most."""

_Key = tuple[str, bytes]


class MemoizingSerializer(JsonPlusSerializer):
    """`JsonPlusSerializer` that decodes each stored message blob only once.

    Args:
        max_entries: Most blobs kept; the least recently read go first.
        **options: Passed to `JsonPlusSerializer`.
    """

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES, **options: Any) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        super().__init__(**options)
        self.max_entries = max_entries
        self._messages: OrderedDict[_Key, BaseMessage | tuple[BaseMessage, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Decodes a stored value; a message (or list of messages) seen before comes from memory."""
        type_, blob = data
        if type_ != "msgpack":
            return super().loads_typed(data)
        key = (type_, bytes(blob))
        with self._lock:
            kept = self._messages.get(key)
            if kept is not None:
                self._messages.move_to_end(key)
        if kept is not None:
            return list(kept) if isinstance(kept, tuple) else kept
        value = super().loads_typed(data)
        if isinstance(value, BaseMessage):
            self._remember(key, value)
        elif isinstance(value, list) and value and all(isinstance(v, BaseMessage) for v in value):
            self._remember(key, tuple(value))
        return value

    def _remember(self, key: _Key, value: BaseMessage | tuple[BaseMessage, ...]) -> None:
        with self._lock:
            self._messages[key] = value
            if len(self._messages) > self.max_entries:
                self._messages.popitem(last=False)

    @property
    def cached(self) -> int:
        """How many blobs are kept (a `__len__` would make an empty serializer falsy)."""
        return len(self._messages)
