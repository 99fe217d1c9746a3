"""A saver that remembers each session's latest conversation, so a turn never rebuilds it whole.

The messages channel is a LangGraph `DeltaChannel` (see `agent.state`): a checkpoint stores only
the messages its step added, and reading a checkpoint means walking back through every ancestor
to the last full snapshot and replaying their writes. That walk is what made a turn's own cost
grow with the session. `HeadCachingSaver` wraps any saver (SQLite, Postgres) and answers that
walk from memory: it keeps the conversation as it stood at the checkpoints it rebuilt last, keyed
by checkpoint id, and rebuilds a newer checkpoint from the nearest remembered ancestor plus the
writes in between, read from the database. Everything else goes straight to the wrapped saver.

Why this stays correct with several processes on one database: a checkpoint id names an immutable
point in the history (its ancestors and their writes never change; a deleted thread's ids never
come back), so a remembered value can never be stale for its id. What can change is which
checkpoint is the latest, and that is always read from the database by LangGraph before it asks
for the history; the path from it back to a remembered ancestor is read from the database too.
A process that has never seen the session, or is far behind (another process ran many steps),
falls back to the wrapped saver's own full walk.

Reliance on LangGraph's beta surface (langgraph 1.2, langgraph-checkpoint 4.x):
`BaseCheckpointSaver.aget_delta_channel_history` and its `DeltaChannelHistory` result are marked
beta. This module returns a history whose `seed` is the conversation itself (a plain value, the
form LangGraph documents for threads migrated to a delta channel) with no writes to replay. If the
method is renamed or its contract changes, LangGraph stops calling this override and reads go back
to the full walk (correct, only slower); if the meaning of `seed` or of the writes changed, the
tests in `tests/checkpoints/test_head_cache.py`, which compare every checkpoint's rebuilt value
with the wrapped saver's, fail.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    PendingWrite,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 512
"""Checkpoints whose conversation is kept: about one per recently active session."""
DEFAULT_MAX_WALK = 64
"""Most ancestors read to reach a remembered one; a turn adds 2 to 10, so this spans a few turns
run elsewhere. Beyond it, the wrapped saver's own walk is used."""

_Key = tuple[str, str, str]


def _key(config: RunnableConfig) -> _Key | None:
    configurable = config.get("configurable", {})
    checkpoint_id = configurable.get("checkpoint_id")
    if not checkpoint_id:
        return None
    return (
        str(configurable.get("thread_id", "")),
        str(configurable.get("checkpoint_ns", "")),
        str(checkpoint_id),
    )


def _stored_value(seed: Any) -> Any:
    """The value a stored seed holds: a snapshot wraps it, a migrated plain value is itself."""
    return seed.value if type(seed).__name__ == "_DeltaSnapshot" else seed


class HeadCachingSaver(BaseCheckpointSaver[Any]):
    """Any checkpoint saver, with delta-channel values remembered per checkpoint.

    Args:
        inner: The saver that stores everything (every call but the history read goes to it).
        channels: The graph's delta channels by name (the state's `DeltaChannel` annotations);
            other channels are read through `inner` as usual.
        max_entries: Most checkpoints whose values are kept; the least recently used go first.
        max_walk: Most ancestors read to reach a remembered checkpoint.
    """

    def __init__(
        self,
        inner: BaseCheckpointSaver[Any],
        channels: Mapping[str, DeltaChannel[Any]],
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_walk: int = DEFAULT_MAX_WALK,
    ) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.channels = dict(channels)
        self.max_entries = max_entries
        self.max_walk = max_walk
        self._values: OrderedDict[_Key, dict[str, Any]] = OrderedDict()
        self.hits = 0
        """Reads answered from a remembered checkpoint (itself or an ancestor)."""
        self.misses = 0
        """Reads that needed the wrapped saver's full walk."""

    # --- the cached read -------------------------------------------------------------------

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The values of `channels` at the checkpoint `config` names, as a history to replay."""
        target = _key(config)
        if target is None or not channels or any(ch not in self.channels for ch in channels):
            return await self.inner.aget_delta_channel_history(config=config, channels=channels)
        values = self._remembered(target, channels)
        if values is None:
            values = await self._rebuild(config, target, channels)
        return {ch: {"seed": copy.copy(values[ch]), "writes": []} for ch in channels}

    def _remembered(self, key: _Key, channels: Sequence[str]) -> dict[str, Any] | None:
        values = self._values.get(key)
        if values is None or any(ch not in values for ch in channels):
            return None
        self._values.move_to_end(key)
        self.hits += 1
        return values

    def _remember(self, key: _Key, values: dict[str, Any]) -> None:
        self._values[key] = values
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)

    async def _rebuild(
        self, config: RunnableConfig, target: _Key, channels: Sequence[str]
    ) -> dict[str, Any]:
        """Reads the path back to a remembered ancestor, a snapshot or the root, and replays it."""
        found = await self.inner.aget_tuple(config)
        path: list[CheckpointTuple] = []
        base: dict[str, Any] | None = None
        cursor = found.parent_config if found is not None else None
        while cursor is not None and len(path) < self.max_walk:
            ancestor = await self.inner.aget_tuple(cursor)
            if ancestor is None:
                break
            path.append(ancestor)
            key = _key(ancestor.config)
            remembered = self._values.get(key) if key is not None else None
            stored = ancestor.checkpoint.get("channel_values", {})
            if remembered is not None and all(ch in remembered for ch in channels):
                base = remembered
                self.hits += 1
                break
            if all(ch in stored for ch in channels):
                base = {ch: _stored_value(stored[ch]) for ch in channels}
                break
            if any(ch in stored for ch in channels):
                path = []  # channels seeded at different depths: leave it to the full walk
                break
            cursor = ancestor.parent_config
        else:
            if found is not None and cursor is None:
                base = {}  # reached the root: every channel starts empty
        if base is None:
            self.misses += 1
            histories = await self.inner.aget_delta_channel_history(
                config=config, channels=channels
            )
            values = {
                ch: self._replay(ch, histories[ch].get("seed"), histories[ch]["writes"])
                for ch in channels
            }
        else:
            writes = [
                write
                for ancestor in reversed(path)
                for write in ancestor.pending_writes or ()
                if write[1] in channels
            ]
            values = {
                ch: self._replay(ch, base.get(ch), [w for w in writes if w[1] == ch])
                for ch in channels
            }
        self._remember(target, values)
        return values

    async def remember_listed(self, listed: Sequence[CheckpointTuple]) -> None:
        """Rebuilds the checkpoints of a listing, each from its parent, before they are read.

        A listing reads checkpoints newest first, and a checkpoint's ancestors are what a rebuild
        needs; rebuilding the oldest first (one walk), then each from its parent and the parent's
        writes that the listing already holds, makes every later read a lookup.

        Args:
            listed: Checkpoints of one thread, as `alist` returns them (with their writes).
        """
        by_id = {str(t.config["configurable"]["checkpoint_id"]): t for t in listed}
        for checkpoint_id in sorted(by_id):
            await self._remember_with_parents(by_id[checkpoint_id], by_id)

    async def _remember_with_parents(
        self, listed: CheckpointTuple, by_id: Mapping[str, CheckpointTuple]
    ) -> dict[str, Any] | None:
        key = _key(listed.config)
        if key is None:
            return None
        channels = [
            ch for ch in self.channels if ch in listed.checkpoint.get("channel_versions", {})
        ]
        known = self._values.get(key)
        if known is not None and all(ch in known for ch in channels):
            return known
        stored = listed.checkpoint.get("channel_values", {})
        parent_id = (listed.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        parent = by_id.get(str(parent_id)) if parent_id else None
        parent_values = (
            await self._remember_with_parents(parent, by_id) if parent is not None else None
        )
        if all(ch in stored for ch in channels):
            values = {ch: _stored_value(stored[ch]) for ch in channels}
        elif parent is not None and parent_values is not None:
            writes = [w for w in parent.pending_writes or () if w[1] in channels]
            values = {
                ch: self._replay(
                    ch,
                    stored[ch] if ch in stored else parent_values.get(ch),
                    [] if ch in stored else [w for w in writes if w[1] == ch],
                )
                for ch in channels
            }
        else:
            values = await self._rebuild(listed.config, key, channels) if channels else {}
        self._remember(key, values)
        return values

    def _replay(self, channel: str, seed: Any, writes: Sequence[PendingWrite]) -> Any:
        """The channel's value after `writes` on top of `seed`, as LangGraph's replay has it."""
        restored = self.channels[channel].from_checkpoint(
            None if seed is None else copy.copy(_stored_value(seed))
        )
        restored.replay_writes(writes)
        return restored.get()

    # --- everything else goes to the wrapped saver ---------------------------------------------

    @property
    def config_specs(self) -> list[Any]:
        """The wrapped saver's configuration fields."""
        return self.inner.config_specs

    def get_next_version(self, current: Any, channel: None) -> Any:
        """The wrapped saver's next channel version."""
        return self.inner.get_next_version(current, channel)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Reads one checkpoint (wrapped saver)."""
        return self.inner.get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Lists checkpoints (wrapped saver)."""
        return self.inner.list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Stores a checkpoint (wrapped saver)."""
        return self.inner.put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Stores a step's writes (wrapped saver)."""
        self.inner.put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        """Deletes a thread (wrapped saver)."""
        self.inner.delete_thread(thread_id)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The synchronous history read (wrapped saver; the service reads asynchronously)."""
        return self.inner.get_delta_channel_history(config=config, channels=channels)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Reads one checkpoint (wrapped saver)."""
        return await self.inner.aget_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Lists checkpoints (wrapped saver), rebuilt oldest first so reading them is a lookup.

        LangGraph reads a listing whole before it rebuilds each state (`aget_state_history`), so
        reading it here first changes nothing for the caller.
        """
        listed = [
            found
            async for found in self.inner.alist(config, filter=filter, before=before, limit=limit)
        ]
        await self.remember_listed(listed)
        for found in listed:
            yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Stores a checkpoint (wrapped saver)."""
        return await self.inner.aput(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Stores a step's writes (wrapped saver)."""
        await self.inner.aput_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Deletes a thread and forgets what was kept of it."""
        await self.inner.adelete_thread(thread_id)
        for key in [key for key in self._values if key[0] == thread_id]:
            del self._values[key]
