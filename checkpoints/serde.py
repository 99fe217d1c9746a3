"""The checkpoint serializer, with the saved messages it has already read kept for the next read.

With the messages channel stored as deltas (see `agent.state`), every turn rebuilds the whole
conversation from its saved writes: one message object per saved message, each built anew. At 400
turns that is 1,000 messages and about a quarter of the service's CPU per turn, growing with the
session. The blobs never change once written, so this serializer builds each one once and hands
the same message objects out again; only blobs holding messages are kept, in a bounded LRU, and
everything else (checkpoints, metadata) is decoded afresh every time, exactly as before.

Stored values are compressed too (raw deflate with a preset dictionary of the names every
checkpoint and message repeats: channel names, message fields, version padding). A checkpoint's
bookkeeping shrinks from about 600 to about 250 bytes and a message by a third. Compressed values
carry the type `msgpack+zd1`; values saved before (plain `msgpack`) read as they always did. The
dictionary is part of the stored format: it must never change (a new one needs a new type name).

The Postgres saver decodes in worker threads (`asyncio.to_thread`), so the LRU is guarded by a lock.

Messages read back are shared between reads, so they must not be changed in place; nothing in
LangGraph or Lex does (reducers and repairs build new lists and new messages).
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

DEFAULT_MAX_ENTRIES = 20_000
"""Blobs kept: about one message each, a few KiB apiece, so tens of MiB at most."""

_Key = tuple[str, bytes]

PLAIN_TYPE = "msgpack"
COMPRESSED_TYPE = "msgpack+zd1"
"""Type of a value stored as raw deflate of its msgpack bytes with `ZDICT_V1`."""
MIN_COMPRESSED_BYTES = 64
"""Shorter values are stored as they are: deflate cannot win much on them."""
ZDICT_V1 = b"".join(
    [
        b"channel_valueschannel_versionsversions_seenupdated_channelspending_sends",
        b"__start____input____interrupt__branch:to:call_modelbranch:to:toolscall_modeltools",
        b"messages0000000000000000000000000000000000.0.",
        b"langchain_core.messages.aiAIMessagelangchain_core.messages.humanHumanMessage",
        b"langchain_core.messages.toolToolMessagemodel_validate_jsoncontentadditional_kwargs",
        b"response_metadatausage_metadatainput_tokensoutput_tokenstotal_tokens",
        b"tool_callsinvalid_tool_callstool_call_idartifactstatussuccesserrortool_call",
        b"model_namefinish_reasonstopsystem_fingerprintservice_tiermodel_providergroq",
        b"llama-3.3-70b-versatilelex_created_atlex_turn_outcomelc_run--typenameidargs",
        b"humanaitool+00:00",
    ]
)
"""Preset dictionary of `msgpack+zd1`. Part of the stored format: never change it."""


def compress(data: bytes) -> bytes:
    """Raw deflate of `data` with the preset dictionary."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1)
    return packer.compress(data) + packer.flush()


def decompress(data: bytes) -> bytes:
    """The bytes `compress` was given."""
    unpacker = zlib.decompressobj(-15, ZDICT_V1)
    return unpacker.decompress(data) + unpacker.flush()


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

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Encodes a value to store, compressed when that makes it smaller."""
        type_, data = super().dumps_typed(obj)
        if type_ != PLAIN_TYPE or len(data) < MIN_COMPRESSED_BYTES:
            return type_, data
        packed = compress(data)
        return (COMPRESSED_TYPE, packed) if len(packed) < len(data) else (type_, data)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Decodes a stored value; a message (or list of messages) seen before comes from memory."""
        type_, blob = data
        if type_ not in (PLAIN_TYPE, COMPRESSED_TYPE):
            return super().loads_typed(data)
        key = (type_, bytes(blob))
        with self._lock:
            kept = self._messages.get(key)
            if kept is not None:
                self._messages.move_to_end(key)
        if kept is not None:
            return list(kept) if isinstance(kept, tuple) else kept
        plain = decompress(key[1]) if type_ == COMPRESSED_TYPE else key[1]
        value = super().loads_typed((PLAIN_TYPE, plain))
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
