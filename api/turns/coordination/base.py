"""The interface of turn coordination: one turn per session, followed, rejoined and cancelled.

Two implementations: `local.TurnManager` (in-process) and `redis.RedisTurnCoordinator` (shared by
replicas). Routes and the executor see only what is declared here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal, Protocol

from api.stream.events import TurnEvent

OnBusy = Literal["reject", "enqueue"]
MAX_EVENT_ID_CHARS = 128
"""Longest `Last-Event-ID` read; ours are a UUID, a colon and a number."""
MAX_QUEUED_TURNS = 3
"""With ON_BUSY=enqueue, messages that may wait behind a session's running turn."""


class SessionBusy(Exception):
    """The session already has a turn running (or, when enqueueing, too many waiting)."""


class TurnSink(Protocol):
    """What a running turn publishes to: its id and an ordered list of events."""

    @property
    def run_id(self) -> str:
        """Unique id of the turn; event ids are `<run_id>:<sequence number>`."""
        ...

    @property
    def after_lost_turn(self) -> bool:
        """Whether the session's previous turn may not have ended because its process died.

        Its saved history may then end with tool calls that have no result, which the executor
        closes before this turn runs. Across processes that is known (the turn's mark outlived its
        lease); in one process, it is checked on the session's first turn since the start.
        """
        ...

    def publish(self, event: TurnEvent) -> None:
        """Appends an event; every follower receives it, in order."""
        ...


class TurnFeed(Protocol):
    """A turn (running or finished) that a stream can follow from any event on."""

    @property
    def run_id(self) -> str:
        """Unique id of the turn."""
        ...

    def event_id(self, sequence: int) -> str:
        """Returns the SSE id of the event at `sequence`."""
        ...

    def sequence_after(self, last_event_id: str | None) -> int:
        """Returns the first sequence number a client that saw `last_event_id` still needs."""
        ...

    def follow(self, start: int = 0) -> AsyncIterator[tuple[int, TurnEvent]]:
        """Yields (sequence, event) from `start`, live, until the turn's `end`."""
        ...


class StartedTurn(TurnFeed, Protocol):
    """A turn this process started: it can also be awaited."""

    async def wait_finished(self) -> None:
        """Returns once the turn is over."""
        ...


WaitTurn = Callable[[], Awaitable[None]]
"""Returns once a queued turn may run: when the turns queued before it are over."""
Executor = Callable[[TurnSink, "WaitTurn | None"], Awaitable[None]]
"""Runs one turn: `execute(run, wait_turn)` first awaits `wait_turn()` when the turn is queued
(None: it runs at once)."""


class TurnCoordinator(Protocol):
    """Starts turns, one at a time per session, and finds them again."""

    async def start(self, session_id: str, execute: Executor) -> StartedTurn:
        """Starts (or queues) a turn of the session.

        Raises:
            SessionBusy: A turn of the session runs and the policy refuses another.
        """
        ...

    async def latest(self, session_id: str) -> TurnFeed | None:
        """Returns the session's running turn, else its last one still known."""
        ...

    async def is_running(self, session_id: str) -> bool:
        """Whether a turn of the session is running or waiting to run."""
        ...

    async def cancel(self, session_id: str) -> str | None:
        """Stops the session's running turn; returns its run id, or None when nothing runs."""
        ...

    async def forget(self, session_id: str) -> None:
        """Drops the session's finished turn, so a deleted session cannot be rejoined."""
        ...

    async def ping(self) -> None:
        """Raises when the coordination backend does not answer (for `/health`)."""
        ...

    async def shutdown(self, grace_s: float) -> None:
        """Lets running turns finish within `grace_s`, then cancels the rest (they repair)."""
        ...


def parse_event_id(last_event_id: str | None) -> tuple[str, int] | None:
    """Splits `<run_id>:<sequence>` into its parts; None for anything else."""
    if not last_event_id or len(last_event_id) > MAX_EVENT_ID_CHARS:
        return None
    run_id, _, sequence = last_event_id.rpartition(":")
    # ASCII digits only: "²".isdigit() is True, and int() of it (or of 5,000 digits) raises.
    if not run_id or not (sequence.isascii() and sequence.isdigit()):
        return None
    return run_id, int(sequence)
