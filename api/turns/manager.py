"""Turns run as server-side tasks; HTTP streams only subscribe to them.

A customer who reloads the page, or whose connection drops, must not lose the answer: the turn
keeps running, is saved, and any client can rejoin it (`GET /sessions/{id}/stream`), replaying from
the last event id it saw. One turn runs per session at a time: a second message either waits its
turn (`ON_BUSY=enqueue`) or is refused (`409`), never run against a stale history.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from api.stream.events import TurnEvent

logger = logging.getLogger(__name__)

OnBusy = Literal["reject", "enqueue"]
MAX_QUEUED_TURNS = 3
"""With ON_BUSY=enqueue, messages that may wait behind a session's running turn."""
FINISHED_RUNS_KEPT = 1000
"""Finished turns kept in memory for rejoining, most recent sessions first."""


class SessionBusy(Exception):
    """The session already has a turn running."""


class TurnRun:
    """One turn's task and every event it has published so far, in order.

    Attributes:
        run_id: Unique id of the turn; event ids are `<run_id>:<sequence number>`.
        session_id: The session the turn belongs to.
        task: The task running the turn.
    """

    def __init__(self, session_id: str) -> None:
        self.run_id = str(uuid.uuid4())
        self.session_id = session_id
        self.task: asyncio.Task[None] | None = None
        self.cancel_requested = False
        self._events: list[TurnEvent] = []
        self._published = asyncio.Event()
        self._finished = asyncio.Event()

    @property
    def done(self) -> bool:
        """Whether the turn has published its last event."""
        return self._finished.is_set()

    def event_id(self, sequence: int) -> str:
        """Returns the SSE id of the event at `sequence`."""
        return f"{self.run_id}:{sequence}"

    def sequence_after(self, last_event_id: str | None) -> int:
        """Returns the first sequence number a client that saw `last_event_id` still needs."""
        if not last_event_id:
            return 0
        run_id, _, sequence = last_event_id.rpartition(":")
        if run_id != self.run_id or not sequence.isdigit():
            return 0  # an earlier turn's id: this whole turn is new to the client
        return int(sequence) + 1

    def publish(self, event: TurnEvent) -> None:
        """Appends an event and wakes every follower."""
        self._events.append(event)
        published, self._published = self._published, asyncio.Event()
        published.set()

    def finish(self) -> None:
        """Marks the turn over; followers return after the last event."""
        self._finished.set()
        self._published.set()

    async def wait_finished(self) -> None:
        """Returns once the turn is over."""
        await self._finished.wait()

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, TurnEvent]]:
        """Yields (sequence, event) from `start`, live, until the turn is over."""
        sequence = start
        while True:
            published = self._published
            while sequence < len(self._events):
                yield sequence, self._events[sequence]
                sequence += 1
            if self.done:
                return
            await published.wait()


Executor = Callable[[TurnRun, "TurnRun | None"], Awaitable[None]]
"""Runs one turn: `execute(run, after)` waits for `after` (the turn queued before it) first."""


class TurnManager:
    """Starts turns as tasks, one at a time per session, and finds them again."""

    def __init__(self, *, on_busy: OnBusy = "reject", keep_finished: int = FINISHED_RUNS_KEPT):
        self.on_busy = on_busy
        self._keep_finished = keep_finished
        self._latest: OrderedDict[str, TurnRun] = OrderedDict()
        self._unfinished: dict[str, list[TurnRun]] = {}

    def latest(self, session_id: str) -> TurnRun | None:
        """Returns the session's running turn, else its last one still in memory."""
        return self._latest.get(session_id)

    def is_running(self, session_id: str) -> bool:
        """Whether a turn of the session is running or waiting to run."""
        return bool(self._unfinished.get(session_id))

    def start(self, session_id: str, execute: Executor) -> TurnRun:
        """Starts a turn of the session.

        Raises:
            SessionBusy: A turn of the session is running and `on_busy` is "reject".
        """
        queue = self._unfinished.setdefault(session_id, [])
        if queue and (self.on_busy == "reject" or len(queue) > MAX_QUEUED_TURNS):
            raise SessionBusy(session_id)
        previous = queue[-1] if queue else None
        run = TurnRun(session_id)
        queue.append(run)
        run.task = asyncio.create_task(self._run(run, execute, previous), name=f"turn-{run.run_id}")
        self._latest[session_id] = run
        self._latest.move_to_end(session_id)
        return run

    async def _run(self, run: TurnRun, execute: Executor, previous: TurnRun | None) -> None:
        try:
            await execute(run, previous)
        except BaseException:
            logger.exception("turn task crashed: session=%s run=%s", run.session_id, run.run_id)
            raise
        finally:
            run.finish()
            queue = self._unfinished.get(run.session_id, [])
            if run in queue:
                queue.remove(run)
            if not queue:
                self._unfinished.pop(run.session_id, None)
            self._forget_old_runs()

    def _forget_old_runs(self) -> None:
        excess = len(self._latest) - self._keep_finished
        if excess <= 0:
            return
        finished = [session for session, run in self._latest.items() if run.done][:excess]
        for session_id in finished:
            del self._latest[session_id]

    def cancel(self, session_id: str) -> TurnRun | None:
        """Stops the session's running turn (not the ones queued after it).

        Returns:
            The cancelled turn, or None when nothing runs.
        """
        queue = self._unfinished.get(session_id)
        run = queue[0] if queue else None
        if run is None or run.task is None:
            return None
        if not run.cancel_requested:  # a second stop must not interrupt the repair
            run.cancel_requested = True
            run.task.cancel()
        return run

    def forget(self, session_id: str) -> None:
        """Drops the session's finished turn, so a deleted session cannot be rejoined."""
        if not self.is_running(session_id):
            self._latest.pop(session_id, None)

    async def shutdown(self, grace_s: float) -> None:
        """Lets running turns finish within `grace_s`, then cancels the rest (they repair)."""
        tasks = [
            run.task for queue in self._unfinished.values() for run in queue if run.task is not None
        ]
        if not tasks:
            return
        logger.info("waiting up to %.0f s for %d running turns", grace_s, len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cancelled %d turns still running at shutdown", len(pending))
            await asyncio.wait(pending, timeout=grace_s)
