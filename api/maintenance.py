"""Keeps the database small in the background: older turns folded, expired sessions deleted.

- After each turn, its session's turns older than `STUDIO_STEP_TURNS` lose their middle step
  checkpoints (`checkpoints.folding`, SQLite), so a session stores little more than its messages.
- Every `RETENTION_INTERVAL_S`, sessions inactive for `SESSION_TTL_DAYS` are deleted (history and
  list entry; bookings are kept, they are the dealership's), the sessions used since the last
  sweep are folded all the way back (the fold after a turn only walks just past the window, so a
  session saved step by step by an earlier release is folded the first time it is used again),
  and SQLite's free pages are returned to the file system.
Nothing here runs inside a turn: a session that is answering is never deleted, and a fold only
touches turns older than the window, in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from api.turns.coordination.base import StartedTurn, TurnCoordinator
from checkpoints.folding import SqliteTurnFolder
from checkpoints.saver import reclaim_space
from checkpoints.sessions import SessionRegistry, format_timestamp
from tools.domain.clock import Clock

logger = logging.getLogger(__name__)

STEPS_PER_TURN_WALKED = 16
"""Most checkpoints walked back per turn of the window after a turn (a tool turn saves 5)."""
TURNS_BEHIND_WINDOW = 1
"""Turns past the window the fold after a turn walks back to: the one that just left it. Walking
further would cross every folded turn (they hold no turn start to stop at); a turn whose fold was
missed is folded by the next sweep, which walks the whole session."""
SWEEP_DEPTH = 1_000_000
"""A sweep walks a whole session: it folds what an earlier release saved step by step."""
EXPIRED_PER_SWEEP = 500
"""Most sessions deleted by one sweep; the next sweep takes the rest."""


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did.

    Attributes:
        expired: Sessions deleted for inactivity.
        folded: Turns folded.
        reclaimed_pages: Free database pages returned to the file system.
    """

    expired: list[str]
    folded: int
    reclaimed_pages: int


class Maintenance:
    """The background upkeep of one process's storage.

    Args:
        checkpointer: The saver the sessions are stored in (folding and vacuum need SQLite's).
        sessions: The session list.
        turns: The running turns (a session that answers is never deleted).
        delta_channels: The state's delta channels, by name.
        studio_step_turns: Newest turns of a session that keep every step.
        session_ttl_days: Inactivity after which a session is deleted; 0 keeps sessions forever.
        interval_s: Time between sweeps.
        clock: Source of "now" for expiry.
    """

    def __init__(
        self,
        checkpointer: BaseCheckpointSaver[Any],
        sessions: SessionRegistry,
        turns: TurnCoordinator,
        delta_channels: list[str],
        *,
        studio_step_turns: int,
        session_ttl_days: float,
        interval_s: float,
        clock: Clock,
    ) -> None:
        self.checkpointer = checkpointer
        self.sessions = sessions
        self.turns = turns
        self.studio_step_turns = studio_step_turns
        self.session_ttl_days = session_ttl_days
        self.interval_s = interval_s
        self.clock = clock
        sqlite = checkpointer if isinstance(checkpointer, AsyncSqliteSaver) else None
        self._sqlite = sqlite
        self._folder = SqliteTurnFolder(sqlite, delta_channels) if sqlite is not None else None
        self._touched: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def after_turn(self, run: StartedTurn, thread_id: str) -> None:
        """Folds the session's turns that leave the window once `run` has finished."""
        if self._folder is None:
            return
        self._touched.add(thread_id)
        self._spawn(self._fold_after(run, thread_id))

    async def _fold_after(self, run: StartedTurn, thread_id: str) -> None:
        await run.wait_finished()
        turns = self.studio_step_turns + TURNS_BEHIND_WINDOW
        try:
            await self.fold(thread_id, turns * STEPS_PER_TURN_WALKED, turns)
        except Exception:
            logger.exception("could not fold the older turns of thread %s", thread_id)

    async def fold(self, thread_id: str, depth: int = SWEEP_DEPTH, turns: int | None = None) -> int:
        """Folds a thread's turns older than the window; returns how many (0 off SQLite).

        The walk goes back `depth` checkpoints or `turns` turns at most (None: no turn limit).
        """
        if self._folder is None:
            return 0
        return await self._folder.fold(thread_id, self.studio_step_turns, depth, max_turns=turns)

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """Deletes expired sessions, folds the sessions touched since the last sweep, vacuums."""
        expired = await self.expire(now or self.clock())
        touched, self._touched = self._touched, set()
        folded = 0
        for thread_id in touched:
            folded += await self.fold(thread_id)
        reclaimed = await reclaim_space(self._sqlite) if self._sqlite is not None else 0
        report = SweepReport(expired, folded, reclaimed)
        if expired or folded or reclaimed:
            logger.info(
                "retention: %d sessions expired, %d turns folded, %d pages returned",
                len(expired),
                folded,
                reclaimed,
            )
        return report

    async def expire(self, now: datetime) -> list[str]:
        """Deletes the sessions inactive for longer than the TTL; returns their ids."""
        if self.session_ttl_days <= 0:
            return []
        cutoff = format_timestamp(now - timedelta(days=self.session_ttl_days))
        deleted: list[str] = []
        for record in await self.sessions.updated_before(cutoff, EXPIRED_PER_SWEEP):
            if await self.turns.is_running(record.session_id):
                continue
            await self.turns.forget(record.session_id)
            await self.checkpointer.adelete_thread(record.thread_id)
            await self.sessions.delete(record.session_id)
            self._touched.discard(record.thread_id)
            deleted.append(record.session_id)
        return deleted

    def start(self) -> None:
        """Starts the periodic sweep, saying what it will delete (an upgrade may change that)."""
        if self.session_ttl_days > 0:
            logger.info(
                "retention: sessions idle for %g days are deleted (SESSION_TTL_DAYS; 0 keeps them)",
                self.session_ttl_days,
            )
        else:
            logger.info("retention: sessions are kept for ever (SESSION_TTL_DAYS=0)")
        self._loop = asyncio.create_task(self._run_forever())

    async def _run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except Exception:
                logger.exception("retention sweep failed; the next one retries")

    async def stop(self) -> None:
        """Stops the sweep and waits for pending folds (before the database closes)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
