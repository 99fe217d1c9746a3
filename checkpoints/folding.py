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
channel (`Overwrite`). The fold after a turn walks back only to the turn leaving the window (older
turns are folded already), so it costs the same at turn 1,000 as at turn 30. Everything happens in
one transaction under the saver's own lock, so a reader sees the turn before or after, never half
folded, and a process that remembered the conversation at a kept checkpoint
(`checkpoints.head_cache`) still has the right value for its id.

SQLite only: it edits the saver's tables (`checkpoints`, `writes`) directly, since LangGraph's
saver interface has no way to remove or re-parent a checkpoint. The Postgres saver stores channel
values in a separate blob table and would need its own version of these statements.
"""

from __future__ import annotations

import itertools
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

IS_TURN_START = (
    "COALESCE(CASE WHEN json_valid(CAST({m} AS TEXT)) "
    f"THEN json_extract(CAST({{m}} AS TEXT), '$.source') = '{INPUT_SOURCE}' END, 0)"
)
"""SQL: 1 when the metadata column `{m}` marks a turn's start (`source` is "input"), else 0."""

ANCESTRY_SQL = f"""
WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, depth, starts, is_start) AS (
    SELECT checkpoint_id, parent_checkpoint_id, 0,
        {IS_TURN_START.format(m="metadata")}, {IS_TURN_START.format(m="metadata")}
    FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?
    UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id, chain.depth + 1,
        chain.starts + {IS_TURN_START.format(m="c.metadata")},
        {IS_TURN_START.format(m="c.metadata")}
    FROM chain CROSS JOIN checkpoints c ON c.checkpoint_id = chain.parent_checkpoint_id
    WHERE c.thread_id = ? AND c.checkpoint_ns = '' AND chain.depth < ?
        AND (chain.starts < ? OR (chain.is_start AND chain.starts = ?))
)
SELECT checkpoint_id, parent_checkpoint_id, is_start FROM chain ORDER BY depth DESC
"""
"""A thread's checkpoints from `checkpoint_id` back, oldest first, with which ones start a turn.

The walk stops at the root, after a number of checkpoints, or at the checkpoint just before the
given number of turn starts (the previous turn's end, which a fold attaches the oldest turn to).
"""


@dataclass(frozen=True)
class _Step:
    checkpoint_id: str
    parent_id: str | None
    starts_turn: bool


@dataclass(frozen=True)
class _Turn:
    anchor: str
    removed: list[str]
    end: str


class SqliteTurnFolder:
    """Folds older turns of threads saved by an `AsyncSqliteSaver`.

    Args:
        saver: The open saver (its connection and lock are used).
        delta_channels: Names of the state's delta channels (their writes are kept, merged).
    """

    def __init__(self, saver: AsyncSqliteSaver, delta_channels: Sequence[str]) -> None:
        self.saver = saver
        self.delta_channels = tuple(delta_channels)

    async def fold(
        self,
        thread_id: str,
        keep_turns: int,
        max_depth: int,
        *,
        max_turns: int | None = None,
    ) -> int:
        """Folds the turns of a thread's current branch older than its newest `keep_turns`.

        Args:
            thread_id: The thread.
            keep_turns: Newest turns left step by step (at least 1).
            max_depth: Most checkpoints walked back from the head.
            max_turns: Most turns walked back from the head (None: as far as `max_depth`). After
                each turn, a walk just past the window suffices: the turns before it are folded
                already, one checkpoint each, so walking them would only cost time in
                proportion to the session. A sweep of old sessions walks them all.

        Returns:
            How many turns were folded.
        """
        keep_turns = max(1, keep_turns)
        starts = max_depth if max_turns is None else max(max_turns, keep_turns + 1)
        folded = 0
        async with self.saver.lock:
            chain = await self._chain(thread_id, max_depth, starts)
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

    async def _chain(self, thread_id: str, max_depth: int, max_starts: int) -> list[_Step]:
        conn = self.saver.conn
        async with conn.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
            "ORDER BY checkpoint_id DESC LIMIT 1",
            (thread_id,),
        ) as cursor:
            head = await cursor.fetchone()
        if head is None:
            return []
        parameters = (thread_id, head[0], thread_id, max_depth, max_starts, max_starts)
        async with conn.execute(ANCESTRY_SQL, parameters) as cursor:
            rows = await cursor.fetchall()
        return [_Step(str(r[0]), r[1] and str(r[1]), bool(r[2])) for r in rows]

    @staticmethod
    def _candidates(chain: list[_Step], keep_turns: int) -> list[_Turn]:
        """Turns older than the window, oldest first, each between two input checkpoints."""
        starts = [i for i, step in enumerate(chain) if step.starts_turn]
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
        rows = await self._writes_of(thread_id, turn.removed)
        turn = _without_folded_turns(turn, rows)
        removed = turn.removed
        if not removed:
            return False
        rows = [r for r in rows if str(r[0]) in removed]
        marks = ",".join("?" * len(removed))
        # A child is newer than its parent: checkpoint ids grow with time (strictly within a
        # process; across restarts as far as the clock does, which LangGraph's own lookup of a
        # thread's latest checkpoint relies on too). So only checkpoints newer than the anchor
        # are counted: the window's, not the whole session's.
        async with conn.execute(
            "SELECT parent_checkpoint_id, COUNT(*) FROM checkpoints WHERE thread_id = ? "
            "AND checkpoint_ns = '' AND checkpoint_id > ? "
            f"AND parent_checkpoint_id IN (?, {marks}) GROUP BY parent_checkpoint_id",
            (thread_id, turn.anchor, turn.anchor, *removed),
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
        task_id = folded_turn_task(turn.anchor)
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

    async def _writes_of(self, thread_id: str, checkpoint_ids: Sequence[str]) -> list[Any]:
        marks = ",".join("?" * len(checkpoint_ids))
        async with self.saver.conn.execute(
            "SELECT checkpoint_id, task_id, task_path, idx, channel, type, value FROM writes "
            f"WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id IN ({marks})",
            (thread_id, *checkpoint_ids),
        ) as cursor:
            return list(await cursor.fetchall())


def folded_turn_task(anchor: str) -> str:
    """The task id of the write that holds the messages of the turn folded onto `anchor`."""
    return str(uuid.uuid5(uuid.UUID(anchor), FOLDED_TURN_TASK))


def _without_folded_turns(turn: _Turn, writes: Sequence[Any]) -> _Turn:
    """The turn cut at the first end that already holds a folded turn's messages.

    Between two turn starts there is normally one turn; when a later turn was folded before this
    one (a fold that was missed, then a walk that reached it), its end follows this turn's end,
    which holds its messages. This turn ends there: that end is kept, and what hangs on it.
    """
    holding = {str(w[0]) for w in writes if str(w[1]) == folded_turn_task(str(w[0]))}
    for index, checkpoint_id in enumerate(turn.removed):
        if checkpoint_id in holding:
            return _Turn(turn.anchor, turn.removed[:index], checkpoint_id)
    return turn
