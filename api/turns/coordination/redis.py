"""Turn coordination shared by every replica through Redis (`REDIS_URL`).

- One turn per session: a lease (`SET NX PX`) held by the run, renewed by a heartbeat with
  compare-and-extend; a process that loses its lease cancels its own turn.
- The turn's events go to a Redis Stream whose entry ids are derived from the SSE event ids
  (`<run_id>:<n>` is entry `0-<n+1>`), so `Last-Event-ID` maps to a stream position and one
  blocking read serves both the missed events and the live tail, on any replica. The stream is
  bounded and expires after `end`.
- Cancel from any replica: a flag plus a pub/sub message to the owner, which also checks the flag
  right after its turn starts.
- `ON_BUSY=enqueue`: a per-session FIFO list with the same cap as in-process.
- A replica that dies mid-turn stops renewing its `alive` key; the first follower to notice writes
  `error` (`replica_lost`, retryable) and `end`, exactly once (a script checks and writes
  atomically). The turn is never re-run: tools are not idempotent. A turn marks its session
  `open` until its `end` is written, so the next turn of a session whose process died finds the
  mark, and the executor closes the tool calls left without a result in the saved history.

Every check-and-write is one Lua script, so no two replicas can interleave inside it. Every key a
script touches is passed in KEYS and carries the session id as its hash tag (`lex:{<session>}:...`),
so all keys of one session live in one hash slot: the scripts also run on a Redis Cluster node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.redis_connections import MAX_BLOCKING_READ_S, redis_options
from api.stream.events import TextChunk, TurnEnd, TurnError, TurnEvent
from api.telemetry.logs import session_hash
from api.turns.coordination.base import (
    MAX_QUEUED_TURNS,
    Executor,
    OnBusy,
    SessionBusy,
    WaitTurn,
    parse_event_id,
)
from api.turns.coordination.codec import decode_event, encode_event
from api.turns.coordination.local import FINISHED_RUNS_KEPT, TurnRun, finish_or_cancel

logger = logging.getLogger(__name__)

MAX_BLOCK_MS: Final = round(MAX_BLOCKING_READ_S * 1000)
QUEUE_POLL_S: Final = 0.05
STREAM_MAX_EVENTS: Final = 20_000
"""Cap of one turn's stream: far above a real turn, it bounds a runaway one."""
REPLICA_LOST = "replica_lost"
REPLICA_LOST_MESSAGE = "The server answering you stopped before it finished."
EVENT_FIELD = "e"

_START = """
local waiting = redis.call('LLEN', KEYS[2])
local outcome
if redis.call('EXISTS', KEYS[1]) == 0 and waiting == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
  outcome = 1
  if redis.call('EXISTS', KEYS[5]) == 1 then outcome = 3 end
  redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[6])
elseif ARGV[2] == '1' or waiting >= tonumber(ARGV[3]) then
  return 0
else
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  outcome = 2
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[4])
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[5])
return outcome
"""
"""KEYS lease, queue, alive, latest, open; ARGV run_id, reject, cap, lease_ms, ttl_s, open_ttl_s.
Returns 1 (runs now, lease taken), 3 (runs now; the session's previous turn never wrote its `end`:
its process died), 2 (queued) or 0 (busy)."""

_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head then return -1 end
if head ~= ARGV[1] then
  if head == ARGV[3] and redis.call('EXISTS', KEYS[4]) == 0 then
    redis.call('LPOP', KEYS[2])
    return -2
  end
  return head
end
redis.call('LPOP', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local outcome = 1
if redis.call('EXISTS', KEYS[3]) == 1 then outcome = 3 end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
return outcome
"""
"""KEYS lease, queue, open, alive of the run believed to head the queue; ARGV run_id, lease_ms,
that run's id ('' when unknown), open_ttl_s. Takes the lease when it is free and this run heads
the queue. Returns 1 (taken), 3 (taken; the previous turn never wrote its `end`), 0 (the lease is
held), -1 (no longer queued), -2 (the head's process died: it was dropped, ask again) or the run id
heading the queue (ask again with its `alive` key: the script reads only keys it is given)."""

_HEARTBEAT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if ARGV[3] == '1' then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
return 1
"""
"""KEYS alive, lease, done; ARGV run_id, lease_ms, holds_lease. Compare-and-extend: 0 when the
run was declared lost or its lease went to another run."""

_RELEASE = """
redis.call('DEL', KEYS[2])
redis.call('LREM', KEYS[3], 0, ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1
"""
"""KEYS lease, alive, queue, open; ARGV run_id. The process that ran the turn is alive and has
repaired the history itself, so the session is no longer `open`."""

_APPEND = """
local written = 0
if redis.call('EXISTS', KEYS[2]) == 0 then
  local first = tonumber(ARGV[1])
  for i = 6, #ARGV do
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '0-' .. (first + i - 5), 'e', ARGV[i])
  end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  written = 1
end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('DEL', KEYS[4])
  redis.call('LREM', KEYS[5], 0, ARGV[5])
  if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
  if redis.call('GET', KEYS[6]) == ARGV[5] then redis.call('DEL', KEYS[6]) end
end
return written
"""
"""KEYS stream, done, lease, alive, queue, open; ARGV first sequence, is_end, ttl_s, max_len,
run_id, events... Returns 0 when the turn was already closed (declared lost): nothing is written
after an `end`. With the `end`, the session's lease is released (and its `open` mark cleared) in
the same step, so a client that has read `end` can send its next message at once, on any replica."""

_CLOSE_LOST = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  return -1
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local nxt = 1
if #last > 0 then nxt = tonumber(string.match(last[1][1], '%-(%d+)$')) + 1 end
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], '0-' .. (nxt + i - 2), 'e', ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 1
"""
"""KEYS stream, done, alive; ARGV ttl_s, events... Closes a turn whose process stopped renewing
`alive`: 1 (closed now), 0 (alive, or already closed), -1 (closed and expired: nothing to read)."""


OPEN_TURN_TTL_S: Final = 7 * 24 * 3600
"""How long the mark of a turn that never wrote its `end` waits for the session's next turn."""


@dataclass(frozen=True)
class RedisKeys:
    """Every key and channel name, under one prefix so deployments can share a Redis.

    A session's keys and those of its runs share the hash tag `{<session id>}` (session ids and
    client-bound keys have no braces), so they hash to one slot, as a Redis Cluster needs for the
    scripts that touch several of them; different sessions still spread over the slots.
    """

    prefix: str

    def session(self, session_id: str) -> str:
        """What every key of the session starts with."""
        return f"{self.prefix}{{{session_id}}}"

    def lease(self, session_id: str) -> str:
        """The session's lease: the id of the run that may write to it."""
        return f"{self.session(session_id)}:lease"

    def queue(self, session_id: str) -> str:
        """Runs waiting behind the session's running turn, in order."""
        return f"{self.session(session_id)}:queue"

    def latest(self, session_id: str) -> str:
        """The session's latest run id, for rejoining."""
        return f"{self.session(session_id)}:latest"

    def open(self, session_id: str) -> str:
        """The run that took the session and has not written its `end` yet."""
        return f"{self.session(session_id)}:open"

    def events(self, session_id: str, run_id: str) -> str:
        """The run's event stream."""
        return f"{self.session(session_id)}:run:{run_id}:events"

    def alive(self, session_id: str, run_id: str) -> str:
        """Present while the run's process renews it."""
        return f"{self.session(session_id)}:run:{run_id}:alive"

    def done(self, session_id: str, run_id: str) -> str:
        """Present once the run's `end` is written."""
        return f"{self.session(session_id)}:run:{run_id}:done"

    def cancel(self, session_id: str, run_id: str) -> str:
        """Present once someone asked to stop the run."""
        return f"{self.session(session_id)}:run:{run_id}:cancel"

    @property
    def cancel_channel(self) -> str:
        """Where stop requests are announced to the owner."""
        return f"{self.prefix}cancel"


class RedisTurnRun(TurnRun):
    """A turn run by this process; its events also go to its Redis stream, in order.

    Local followers read the events from memory, as in-process; the stream serves the others.
    """

    def __init__(self, session_id: str, coordinator: RedisTurnCoordinator) -> None:
        super().__init__(session_id)
        self._coordinator = coordinator
        self._unsent: list[str] = []
        self._sent = 0
        self._end_sequence: int | None = None
        self._end: TurnEnd | None = None
        self._writer: asyncio.Task[None] | None = None
        self.holds_lease = False
        self.lost = False

    @property
    def ended(self) -> bool:
        """Whether `end` was published."""
        return self._end_sequence is not None

    def publish(self, event: TurnEvent) -> None:
        """Appends the event here and queues it for the stream (written by one task, in order).

        `end` reaches local followers only once it is in the stream and the lease is released:
        whoever reads it may send the next message straight away.
        """
        if isinstance(event, TurnEnd):
            self._end_sequence = len(self.events)
            self._end = event
        else:
            super().publish(event)
        self._unsent.append(encode_event(event))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name=f"turn-writer-{self.run_id}")

    async def _write(self) -> None:
        while self._unsent:
            batch, self._unsent = self._unsent, []
            first = self._sent
            self._sent += len(batch)
            is_end = self._end_sequence is not None and self._sent > self._end_sequence
            try:
                written = await self._coordinator.append(
                    self.run_id, self.session_id, first, batch, is_end=is_end
                )
            except RedisError:
                logger.exception("could not send events of run %s to Redis", self.run_id)
                written = True
            finally:
                if is_end and self._end is not None:
                    super().publish(self._end)
            if not written and not self.lost:
                logger.warning("run %s was closed by another replica; stopping it", self.run_id)
                self.lost = True
                self.cancel()

    async def flush(self) -> None:
        """Returns once every published event is in the stream (or could not be sent)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)


class RemoteTurnFeed:
    """A turn another replica runs (or ran), followed through its Redis stream.

    Args:
        coordinator: The coordinator that knows the keys and the client.
        session_id: The session the run belongs to.
        run_id: The run.
    """

    def __init__(self, coordinator: RedisTurnCoordinator, session_id: str, run_id: str) -> None:
        self._coordinator = coordinator
        self.session_id = session_id
        self.run_id = run_id

    def event_id(self, sequence: int) -> str:
        """Returns the SSE id of the event at `sequence`."""
        return f"{self.run_id}:{sequence}"

    def sequence_after(self, last_event_id: str | None) -> int:
        """Returns the first sequence number a client that saw `last_event_id` still needs.

        How far the turn got is in Redis, so `follow` brings a number past its last event back.
        """
        parsed = parse_event_id(last_event_id)
        if parsed is None or parsed[0] != self.run_id:
            return 0
        return parsed[1] + 1

    async def follow(self, start: int = 0) -> AsyncIterator[tuple[int, TurnEvent]]:
        """Yields (sequence, event) from `start` with one blocking read per batch, until `end`.

        A `start` past the last event written is brought back to it, as in-process: a client
        that already saw `end` (or names a later event) gets `end` again, only it; a running turn
        is followed from its next event. When nothing arrives and the owner has stopped renewing
        its `alive` key, this follower closes the turn (`replica_lost`), then reads the closing
        events like any other.
        """
        client = self._coordinator.client
        keys = self._coordinator.keys
        stream = keys.events(self.session_id, self.run_id)
        if start > 0:
            newest: Any = await client.xrevrange(stream, count=1)
            last = int(str(newest[0][0]).rpartition("-")[2]) - 1 if newest else -1
            if last < start:
                if newest and isinstance(end := decode_event(newest[0][1][EVENT_FIELD]), TurnEnd):
                    yield last, end
                    return
                start = last + 1
        position = f"0-{start}"
        while True:
            reply: Any = await client.xread(
                {stream: position}, count=256, block=self._coordinator.block_ms
            )
            if not reply:
                if await self._coordinator.close_lost(self.session_id, self.run_id) < 0:
                    return  # closed long ago and expired: nothing more will come
                continue
            for entry_id, fields in reply[0][1]:
                position = str(entry_id)
                sequence = int(position.rpartition("-")[2]) - 1
                event = decode_event(fields[EVENT_FIELD])
                yield sequence, event
                if isinstance(event, TurnEnd):
                    return


class RedisTurnCoordinator:
    """Coordinates turns across processes through one Redis.

    Args:
        client: An asyncio Redis client with `decode_responses=True`.
        key_prefix: Prefix of every key and channel.
        on_busy: What a message for a busy session gets: "reject" (409) or "enqueue".
        lease_s: Lifetime of a lease without renewal: how soon a dead replica's turn is closed.
        finished_ttl_s: How long a finished turn can still be rejoined.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str,
        on_busy: OnBusy = "reject",
        lease_s: float = 3.0,
        finished_ttl_s: int = 3600,
    ) -> None:
        self.client = client
        self.keys = RedisKeys(key_prefix)
        self.on_busy = on_busy
        self.lease_ms = max(1, round(lease_s * 1000))
        self.heartbeat_s = lease_s / 3
        self.block_ms = max(1, min(MAX_BLOCK_MS, self.lease_ms // 2))
        self.finished_ttl_s = finished_ttl_s
        self._start = client.register_script(_START)
        self._take = client.register_script(_TAKE)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._release = client.register_script(_RELEASE)
        self._append = client.register_script(_APPEND)
        self._close_lost = client.register_script(_CLOSE_LOST)
        self._running: dict[str, RedisTurnRun] = {}
        self._finished: OrderedDict[str, RedisTurnRun] = OrderedDict()
        self._listener: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Checks the connection and starts listening for stop requests."""
        await self.client.ping()
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.keys.cancel_channel)
        self._listener = asyncio.create_task(self._listen(pubsub), name="turn-cancel-listener")

    async def _listen(self, pubsub: Any) -> None:
        lost = False  # one line when the channel goes and one when it is back, not one a second
        try:
            while True:
                try:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=MAX_BLOCK_MS / 1000
                    )
                except RedisError as error:
                    if not lost:
                        logger.warning(
                            "lost the stop-request channel (%s); resubscribing",
                            type(error).__name__,
                        )
                    lost = True
                    await asyncio.sleep(self.heartbeat_s)
                    with contextlib.suppress(RedisError):
                        await pubsub.subscribe(self.keys.cancel_channel)
                    continue
                if lost:
                    logger.info("stop-request channel back")
                    lost = False
                if message is not None:
                    self._cancel_local(str(message["data"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _cancel_local(self, run_id: str) -> None:
        run = self._running.get(run_id)
        if run is not None:
            logger.info("stopping run %s at another replica's request", run_id)
            run.cancel()

    async def start(self, session_id: str, execute: Executor) -> RedisTurnRun:
        """Starts the turn here, or queues it behind the session's running turn (any replica).

        Raises:
            SessionBusy: The session is busy and `on_busy` is "reject", or its queue is full.
        """
        run = RedisTurnRun(session_id, self)
        keys = self.keys
        outcome = await self._start(
            keys=[
                keys.lease(session_id),
                keys.queue(session_id),
                keys.alive(session_id, run.run_id),
                keys.latest(session_id),
                keys.open(session_id),
            ],
            args=[
                run.run_id,
                "1" if self.on_busy == "reject" else "0",
                MAX_QUEUED_TURNS,
                self.lease_ms,
                self.finished_ttl_s,
                OPEN_TURN_TTL_S,
            ],
        )
        if outcome == 0:
            raise SessionBusy(session_id)
        run.holds_lease = outcome in (1, 3)
        run.after_lost_turn = outcome == 3
        self._running[run.run_id] = run

        async def wait_turn() -> None:
            await self._wait_in_queue(run)

        run.task = asyncio.create_task(
            self._run(run, execute, None if run.holds_lease else wait_turn),
            name=f"turn-{run.run_id}",
        )
        if run.holds_lease:
            await self._cancel_if_asked(run)
        return run

    async def _cancel_if_asked(self, run: RedisTurnRun) -> None:
        """Cancels the run if a stop was asked before this process could hear of it."""
        if await self.client.exists(self.keys.cancel(run.session_id, run.run_id)):
            run.cancel()

    async def _wait_in_queue(self, run: RedisTurnRun) -> None:
        keys = self.keys
        session = run.session_id
        ahead = ""  # the run believed to head the queue, whose `alive` key the script checks
        while True:
            taken = await self._take(
                keys=[
                    keys.lease(session),
                    keys.queue(session),
                    keys.open(session),
                    keys.alive(session, ahead or run.run_id),
                ],
                args=[run.run_id, self.lease_ms, ahead, OPEN_TURN_TTL_S],
            )
            if taken in (1, 3):
                run.holds_lease = True
                run.after_lost_turn = taken == 3
                await self._cancel_if_asked(run)
                return
            if taken == -1:
                raise RuntimeError(f"run {run.run_id} dropped out of its session's queue")
            if taken == -2:
                continue  # a dead waiter was dropped: look at the new head at once
            if isinstance(taken, str) and taken != ahead:
                ahead = taken  # ask again at once, checking whether that run is alive
                continue
            await asyncio.sleep(QUEUE_POLL_S)

    async def _run(self, run: RedisTurnRun, execute: Executor, wait_turn: WaitTurn | None) -> None:
        heartbeat = asyncio.create_task(self._renew(run), name=f"turn-heartbeat-{run.run_id}")
        try:
            await run.play(execute, wait_turn)
        finally:
            heartbeat.cancel()
            try:
                await asyncio.shield(self._close(run))
            except asyncio.CancelledError:
                pass  # the close goes on in the shield; a second stop must not cut it
            run.finish()
            self._running.pop(run.run_id, None)
            self._finished[run.run_id] = run
            while len(self._finished) > FINISHED_RUNS_KEPT:
                self._finished.popitem(last=False)

    async def _close(self, run: RedisTurnRun) -> None:
        await run.flush()
        keys = self.keys
        try:
            await self._release(
                keys=[
                    keys.lease(run.session_id),
                    keys.alive(run.session_id, run.run_id),
                    keys.queue(run.session_id),
                    keys.open(run.session_id),
                ],
                args=[run.run_id],
            )
        except RedisError:
            logger.exception("could not release the lease of run %s", run.run_id)

    async def _renew(self, run: RedisTurnRun) -> None:
        keys = self.keys
        while not run.ended:
            await asyncio.sleep(self.heartbeat_s)
            if run.ended:
                return
            try:
                renewed = await self._heartbeat(
                    keys=[
                        keys.alive(run.session_id, run.run_id),
                        keys.lease(run.session_id),
                        keys.done(run.session_id, run.run_id),
                    ],
                    args=[run.run_id, self.lease_ms, "1" if run.holds_lease else "0"],
                )
            except RedisError:
                logger.warning("could not renew the lease of run %s", run.run_id, exc_info=True)
                continue
            if not renewed and not run.ended:
                logger.warning("run %s lost its lease; stopping it", run.run_id)
                run.lost = True
                run.cancel()
                return

    async def append(
        self, run_id: str, session_id: str, first: int, events: list[str], *, is_end: bool
    ) -> bool:
        """Writes events `first`, `first + 1`, ... of a run; False when the run was closed.

        With `is_end`, the run also gives up its lease, in the same step.
        """
        keys = self.keys
        written = await self._append(
            keys=[
                keys.events(session_id, run_id),
                keys.done(session_id, run_id),
                keys.lease(session_id),
                keys.alive(session_id, run_id),
                keys.queue(session_id),
                keys.open(session_id),
            ],
            args=[
                first,
                "1" if is_end else "0",
                self.finished_ttl_s,
                STREAM_MAX_EVENTS,
                run_id,
                *events,
            ],
        )
        return bool(written)

    async def close_lost(self, session_id: str, run_id: str) -> int:
        """Closes the run with `replica_lost` if its process stopped renewing it.

        Returns:
            1 when this call closed it, 0 when it is alive or already closed, -1 when it was closed
            and its events have expired.
        """
        keys = self.keys
        closing: list[TurnEvent] = [
            TextChunk(
                text=REPLICA_LOST_MESSAGE + " Please send your message again.", message_id=None
            ),
            TurnError(REPLICA_LOST, REPLICA_LOST_MESSAGE, retryable=True),
            TurnEnd(status="error", session_id=session_id, details={"run_id": run_id}),
        ]
        closed = int(
            await self._close_lost(
                keys=[
                    keys.events(session_id, run_id),
                    keys.done(session_id, run_id),
                    keys.alive(session_id, run_id),
                ],
                args=[self.finished_ttl_s, *(encode_event(event) for event in closing)],
            )
        )
        if closed == 1:
            logger.warning(
                "run %s of session %s lost its replica; closed it", run_id, session_hash(session_id)
            )
        return closed

    async def latest(self, session_id: str) -> RedisTurnRun | RemoteTurnFeed | None:
        """Returns the session's running or latest turn, wherever it runs."""
        run_id: str | None = await self.client.get(self.keys.latest(session_id))  # type: ignore[assignment]
        if run_id is None:
            return None
        local = self._running.get(run_id) or self._finished.get(run_id)
        return local if local is not None else RemoteTurnFeed(self, session_id, run_id)

    async def is_running(self, session_id: str) -> bool:
        """Whether a turn of the session is running or queued on any replica."""
        keys = self.keys
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.exists(keys.lease(session_id))
            pipe.llen(keys.queue(session_id))
            leased, waiting = await pipe.execute()
        return bool(leased) or bool(waiting)

    async def cancel(self, session_id: str) -> str | None:
        """Stops the session's running turn on whichever replica runs it."""
        run_id: str | None = await self.client.get(self.keys.lease(session_id))  # type: ignore[assignment]
        if run_id is None:
            return None
        await self.client.set(self.keys.cancel(session_id, run_id), "1", ex=self.finished_ttl_s)
        self._cancel_local(run_id)
        await self.client.publish(self.keys.cancel_channel, run_id)
        return run_id

    async def forget(self, session_id: str) -> None:
        """Drops the session's finished turn everywhere, so a deleted session cannot be rejoined."""
        if await self.is_running(session_id):
            return
        run_id: str | None = await self.client.getdel(self.keys.latest(session_id))  # type: ignore[assignment]
        if run_id is not None:
            self._finished.pop(run_id, None)

    async def ping(self) -> None:
        """Raises when Redis does not answer."""
        await self.client.ping()

    async def shutdown(self, grace_s: float) -> None:
        """Lets this process's turns finish within `grace_s`, cancels the rest, stops listening."""
        tasks = [run.task for run in self._running.values() if run.task is not None]
        await finish_or_cancel(tasks, grace_s)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener


@asynccontextmanager
async def open_redis_coordinator(
    redis_url: str,
    *,
    key_prefix: str,
    on_busy: OnBusy,
    lease_s: float,
    finished_ttl_s: int,
) -> AsyncIterator[RedisTurnCoordinator]:
    """Connects to Redis and yields a listening coordinator; closes the client when done.

    The caller shuts the coordinator down (running turns finish or repair) before leaving.
    """
    client: Redis = Redis.from_url(
        redis_url,
        decode_responses=True,
        **redis_options(),
    )
    try:
        coordinator = RedisTurnCoordinator(
            client,
            key_prefix=key_prefix,
            on_busy=on_busy,
            lease_s=lease_s,
            finished_ttl_s=finished_ttl_s,
        )
        await coordinator.open()
        logger.info("turns coordinated through Redis (lease %.1f s)", lease_s)
        yield coordinator
    finally:
        await client.aclose()
