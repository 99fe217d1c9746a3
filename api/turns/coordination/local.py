"""Turns run as server-side tasks of this process; HTTP streams only subscribe to them.

A customer who reloads the page, or whose connection drops, must not lose the answer: the turn
keeps running, is saved, and any client can rejoin it (`GET /sessions/{id}/stream`), replaying from
the last event id it saw. One turn runs per session at a time: a second message either waits its
turn (`ON_BUSY=enqueue`) or is refused (`409`), never run against a stale history. Everything lives
in this process's memory, so it serves one process only (see `redis` for several).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator

from api.stream.events import TurnEvent
from api.telemetry.logs import session_hash
from api.turns.coordination.base import (
    MAX_QUEUED_TURNS,
    Executor,
    OnBusy,
    SessionBusy,
    WaitTurn,
    parse_event_id,
)

logger = logging.getLogger(__name__)

FINISHED_RUNS_KEPT = 1000
"""Finished turns kept in memory for rejoining, most recent sessions first."""
SESSIONS_REMEMBERED = 100_000
"""Sessions known to have had a turn in this process; one forgotten is only checked once more."""


class TurnRun:
    """One turn's task and every event it has published so far, in order.

    Args:
        session_id: The session the turn belongs to.
        run_id: Its id; a new UUID unless given.

    Attributes:
        run_id: Unique id of the turn; event ids are `<run_id>:<sequence number>`.
        session_id: The session the turn belongs to.
        task: The task running the turn.
        after_lost_turn: Whether the session's previous turn may have died with its process, so
            its tool calls may be open: in-process, the session's first turn since this process
            started (a crashed predecessor left no other trace).
    """

    def __init__(self, session_id: str, run_id: str | None = None) -> None:
        self.run_id = run_id or str(uuid.uuid4())
        self.session_id = session_id
        self.task: asyncio.Task[None] | None = None
        self.started = False
        self.cancel_requested = False
        self.after_lost_turn = False
        self.events: list[TurnEvent] = []
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
        """Returns the first sequence number a client that saw `last_event_id` still needs.

        A client that already saw `end` (or names a later event) gets `end` again, only it: its
        stream must still end with `end`, without repeating anything else. A running turn is
        followed from its next event.
        """
        parsed = parse_event_id(last_event_id)
        if parsed is None or parsed[0] != self.run_id:
            return 0  # an earlier turn's id: this whole turn is new to the client
        published = len(self.events)
        last_needed = published - 1 if self.done and published else published
        return min(parsed[1] + 1, last_needed)

    def publish(self, event: TurnEvent) -> None:
        """Appends an event and wakes every follower."""
        self.events.append(event)
        published, self._published = self._published, asyncio.Event()
        published.set()

    def finish(self) -> None:
        """Marks the turn over; followers return after the last event."""
        self._finished.set()
        self._published.set()

    async def wait_finished(self) -> None:
        """Returns once the turn is over."""
        await self._finished.wait()

    def cancel(self) -> None:
        """Cancels the turn's task once; a second stop must not interrupt the repair.

        A turn whose task has not started yet is cancelled as it starts (`begin`), inside the
        executor, so it still ends with `end` and a repaired history.
        """
        if self.cancel_requested:
            return
        self.cancel_requested = True
        if self.task is not None and self.started:
            self.task.cancel()

    def begin(self) -> None:
        """Marks the task started, from inside it; a stop asked before lands at its next await."""
        self.started = True
        if self.cancel_requested and self.task is not None:
            self.task.cancel()

    async def play(self, execute: Executor, wait_turn: WaitTurn | None) -> None:
        """Runs the turn from inside its task; a crash is logged, session hashed, and raised.

        Logged under the module of the run's class, so a crash names its coordination.
        """
        self.begin()
        try:
            await execute(self, wait_turn)
        except BaseException:
            logging.getLogger(type(self).__module__).exception(
                "turn task crashed: session=%s run=%s", session_hash(self.session_id), self.run_id
            )
            raise

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, TurnEvent]]:
        """Yields (sequence, event) from `start`, live, until the turn is over."""
        sequence = start
        while True:
            published = self._published
            while sequence < len(self.events):
                yield sequence, self.events[sequence]
                sequence += 1
            if self.done:
                return
            await published.wait()


class TurnManager:
    """Starts turns as tasks of this process, one at a time per session, and finds them again."""

    def __init__(self, *, on_busy: OnBusy = "reject", keep_finished: int = FINISHED_RUNS_KEPT):
        self.on_busy = on_busy
        self._keep_finished = keep_finished
        self._latest: OrderedDict[str, TurnRun] = OrderedDict()
        self._unfinished: dict[str, list[TurnRun]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def latest(self, session_id: str) -> TurnRun | None:
        """Returns the session's running turn, else its last one still in memory."""
        return self._latest.get(session_id)

    async def is_running(self, session_id: str) -> bool:
        """Whether a turn of the session is running or waiting to run."""
        return bool(self._unfinished.get(session_id))

    async def start(self, session_id: str, execute: Executor) -> TurnRun:
        """Starts a turn of the session.

        Raises:
            SessionBusy: A turn of the session is running and `on_busy` is "reject".
        """
        queue = self._unfinished.setdefault(session_id, [])
        if queue and (self.on_busy == "reject" or len(queue) > MAX_QUEUED_TURNS):
            raise SessionBusy(session_id)
        previous = queue[-1] if queue else None
        run = TurnRun(session_id)
        run.after_lost_turn = self._first_turn_here(session_id)
        queue.append(run)
        wait_turn: WaitTurn | None = previous.wait_finished if previous is not None else None
        run.task = asyncio.create_task(
            self._run(run, execute, wait_turn), name=f"turn-{run.run_id}"
        )
        self._latest[session_id] = run
        self._latest.move_to_end(session_id)
        return run

    async def _run(self, run: TurnRun, execute: Executor, wait_turn: WaitTurn | None) -> None:
        try:
            await run.play(execute, wait_turn)
        finally:
            run.finish()
            queue = self._unfinished.get(run.session_id, [])
            if run in queue:
                queue.remove(run)
            if not queue:
                self._unfinished.pop(run.session_id, None)
            self._forget_old_runs()

    def _first_turn_here(self, session_id: str) -> bool:
        """Whether this is the session's first turn in this process (remembered, bounded)."""
        first = session_id not in self._seen
        self._seen[session_id] = None
        self._seen.move_to_end(session_id)
        if len(self._seen) > SESSIONS_REMEMBERED:
            self._seen.popitem(last=False)
        return first

    def _forget_old_runs(self) -> None:
        excess = len(self._latest) - self._keep_finished
        if excess <= 0:
            return
        finished = [session for session, run in self._latest.items() if run.done][:excess]
        for session_id in finished:
            del self._latest[session_id]

    async def cancel(self, session_id: str) -> str | None:
        """Stops the session's running turn (not the ones queued after it).

        Returns:
            The cancelled turn's run id, or None when nothing runs.
        """
        queue = self._unfinished.get(session_id)
        run = queue[0] if queue else None
        if run is None or run.task is None:
            return None
        run.cancel()
        return run.run_id

    async def forget(self, session_id: str) -> None:
        """Drops the session's finished turn, so a deleted session cannot be rejoined."""
        if not await self.is_running(session_id):
            self._latest.pop(session_id, None)

    async def ping(self) -> None:
        """In-process coordination is always reachable."""

    async def shutdown(self, grace_s: float) -> None:
        """Lets running turns finish within `grace_s`, then cancels the rest (they repair)."""
        tasks = [
            run.task for queue in self._unfinished.values() for run in queue if run.task is not None
        ]
        await finish_or_cancel(tasks, grace_s)


async def finish_or_cancel(tasks: list[asyncio.Task[None]], grace_s: float) -> None:
    """Waits up to `grace_s` for `tasks`, then cancels those still running and waits for them."""
    if not tasks:
        return
    logger.info("waiting up to %.0f s for %d running turns", grace_s, len(tasks))
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    if pending:
        logger.warning("cancelled %d turns still running at shutdown", len(pending))
        await asyncio.wait(pending, timeout=grace_s)
