"""Folds the step checkpoints of a session's older turns into one checkpoint per turn (SQLite).

A turn saves a checkpoint after every step (4 to 5 for a tool turn), about 0.8 KiB of bookkeeping
each, so the bookkeeping, not the conversation, was most of the database. Studio's step-by-step
view only matters for recent turns; once a turn is older than that window, its input and middle
checkpoints are deleted and the turn's end is attached straight to the previous turn's end, with
the turn's messages stored as one write on that previous end. That is the layout LangGraph itself
writes for `durability="exit"` (a run's delta writes stored on the checkpoint it started from), so
every read, fork and replay works on a folded turn as on one saved that way: each kept checkpoint
holds exactly the conversation it held before.

A turn is folded only when nothing else hangs on what goes: the previous end and every removed
checkpoint have exactly one child (no branch starts there), the previous end has no writes of its
own, no removed checkpoint holds a snapshot of a delta channel, and no write replaces the whole
channel (`Overwrite`). Everything happens in one transaction under the saver's own lock, so a
reader sees the turn before or after, never half folded, and a process that remembered the
conversation at a kept checkpoint (`checkpoints.head_cache`) still has the right value for its id.

SQLite only: it edits the saver's tables (`checkpoints`, `writes`) directly, since LangGraph's
saver interface has no way to remove or re-parent a checkpoint. The Postgres saver stores channel
values in a separate blob table and would need its own version of these statements.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import writes_sort_key
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Overwrite

logger = logging.getLogger(__name__)

FOLDED_TURN_TASK = "lex:folded-turn"
"""Name under which a folded turn's task id is derived from the checkpoint it is stored on."""
INPUT_SOURCE = "input"
"""Metadata `source` of the checkpoint that starts a turn (the customer's message arrived)."""

ANCESTRY_SQL = """
WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, metadata, depth) AS (
    SELECT checkpoint_id, parent_checkpoint_id, metadata, 0 FROM checkpoints
    WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?
    UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id, c.metadata, chain.depth + 1
    FROM chain CROSS JOIN checkpoints c ON c.checkpoint_id = chain.parent_checkpoint_id
    WHERE c.thread_id = ? AND c.checkpoint_ns = '' AND chain.depth < ?
)
SELECT checkpoint_id, parent_checkpoint_id, metadata FROM chain ORDER BY depth DESC
"""


@dataclass(frozen=True)
class _Step:
    checkpoint_id: str
    parent_id: str | None
    source: str


@dataclass(frozen=True)
class _Turn:
    anchor: str
    removed: list[str]
    end: str


def _source(metadata: Any) -> str:
    try:
        value = json.loads(metadata) if metadata else {}
    except (TypeError, ValueError):
        return ""
    return str(value.get("source", "")) if isinstance(value, dict) else ""


class SqliteTurnFolder:
    """Folds older turns of threads saved by an `AsyncSqliteSaver`.

    Args:
        saver: The open saver (its connection and lock are used).
        delta_channels: Names of the state's delta channels (their writes are kept, merged).
    """

    def __init__(self, saver: AsyncSqliteSaver, delta_channels: Sequence[str]) -> None:
        self.saver = saver
        self.delta_channels = tuple(delta_channels)

    async def fold(self, thread_id: str, keep_turns: int, max_depth: int) -> int:
        """Folds the turns of a thread's current branch older than its newest `keep_turns`.

        Args:
            thread_id: The thread.
            keep_turns: Newest turns left step by step (at least 1).
            max_depth: Most checkpoints walked back from the head: after each turn a walk just
                past the window suffices; a sweep of old sessions walks further.

        Returns:
            How many turns were folded.
        """
        keep_turns = max(1, keep_turns)
        folded = 0
        async with self.saver.lock:
            chain = await self._chain(thread_id, max_depth)
            try:
                for turn in self._candidates(chain, keep_turns):
                    if await self._fold_turn(thread_id, turn):
                        folded += 1
            except BaseException:
                await self.saver.conn.rollback()
                raise
            if folded:
                await self.saver.conn.commit()
        if folded:
            logger.debug("thread %s: folded %d turns", thread_id, folded)
        return folded

    async def _chain(self, thread_id: str, max_depth: int) -> list[_Step]:
        conn = self.saver.conn
        async with conn.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id,),
        ) as cursor:
            head = await cursor.fetchone()
        if head is None:
            return []
        async with conn.execute(ANCESTRY_SQL, (thread_id, head[0], thread_id, max_depth)) as cursor:
            rows = await cursor.fetchall()
        return [_Step(str(r[0]), r[1] and str(r[1]), _source(r[2])) for r in rows]

    @staticmethod
    def _candidates(chain: list[_Step], keep_turns: int) -> list[_Turn]:
        """Turns older than the window, oldest first, each between two input checkpoints."""
        starts = [i for i, step in enumerate(chain) if step.source == INPUT_SOURCE]
        turns: list[_Turn] = []
        for position, (start, next_start) in enumerate(itertools.pairwise(starts)):
            if len(starts) - position <= keep_turns:
                break
            if start == 0 or next_start - start < 2:
                continue  # the previous end is beyond the walk (or the root), or nothing to fold
            turns.append(
                _Turn(
                    anchor=chain[start - 1].checkpoint_id,
                    removed=[step.checkpoint_id for step in chain[start : next_start - 1]],
                    end=chain[next_start - 1].checkpoint_id,
                )
            )
        return turns

    async def _fold_turn(self, thread_id: str, turn: _Turn) -> bool:
        conn = self.saver.conn
        serde = self.saver.serde
        removed = turn.removed
        marks = ",".join("?" * len(removed))
        async with conn.execute(
            "SELECT parent_checkpoint_id, COUNT(*) FROM checkpoints WHERE thread_id = ? "
            f"AND checkpoint_ns = '' AND parent_checkpoint_id IN (?, {marks}) "
            "GROUP BY parent_checkpoint_id",
            (thread_id, turn.anchor, *removed),
        ) as cursor:
            children = {str(r[0]): int(r[1]) for r in await cursor.fetchall()}
        if any(children.get(cid) != 1 for cid in (turn.anchor, *removed)):
            return False  # a branch starts inside the turn
        async with conn.execute(
            "SELECT COUNT(*) FROM writes WHERE thread_id = ? AND checkpoint_ns = '' "
            "AND checkpoint_id = ?",
            (thread_id, turn.anchor),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or int(row[0]) != 0:
            return False
        async with conn.execute(
            f"SELECT type, checkpoint FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
            f"AND checkpoint_id IN ({marks})",
            (thread_id, *removed),
        ) as cursor:
            for type_, blob in await cursor.fetchall():
                values = serde.loads_typed((type_, blob)).get("channel_values", {})
                if any(channel in values for channel in self.delta_channels):
                    return False  # a snapshot: keep it where it is
        async with conn.execute(
            "SELECT checkpoint_id, task_id, task_path, idx, channel, type, value FROM writes "
            f"WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id IN ({marks})",
            (thread_id, *removed),
        ) as cursor:
            rows = list(await cursor.fetchall())
        order = {cid: n for n, cid in enumerate(removed)}
        rows.sort(key=lambda r: (order[str(r[0])], *writes_sort_key(str(r[2]), str(r[1]), r[3])))
        merged: dict[str, list[Any]] = {channel: [] for channel in self.delta_channels}
        for _cid, _task, _path, _idx, channel, type_, value in rows:
            if channel not in merged:
                continue
            decoded = serde.loads_typed((type_, value))
            if isinstance(decoded, Overwrite):
                return False
            merged[channel].extend(decoded if isinstance(decoded, list) else [decoded])
        task_id = str(uuid.uuid5(uuid.UUID(turn.anchor), FOLDED_TURN_TASK))
        for idx, (channel, values) in enumerate(merged.items()):
            if not values:
                continue
            type_, blob = serde.dumps_typed(values)
            await conn.execute(
                "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, "
                "idx, channel, type, value) VALUES (?, '', ?, ?, '', ?, ?, ?, ?)",
                (thread_id, turn.anchor, task_id, idx, channel, type_, blob),
            )
        await conn.execute(
            "UPDATE checkpoints SET parent_checkpoint_id = ? WHERE thread_id = ? "
            "AND checkpoint_ns = '' AND checkpoint_id = ?",
            (turn.anchor, thread_id, turn.end),
        )
        for table in ("writes", "checkpoints"):
            await conn.execute(
                f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = '' "
                f"AND checkpoint_id IN ({marks})",
                (thread_id, *removed),
            )
        return True
