"""Redis coordination: every key of a session in one hash slot (Redis Cluster), lost turns marked.

The scripts run on a real Redis; each call's keys are recorded on the way in, so the slot check
covers what the coordinator really sends, not a list kept beside it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.crc import key_slot

from api.stream.events import TextChunk, TurnEnd, TurnEvent
from api.turns.coordination.base import Executor, TurnSink, WaitTurn
from api.turns.coordination.redis import (
    OPEN_TURN_TTL_S,
    RedisKeys,
    RedisTurnCoordinator,
    RemoteTurnFeed,
    open_redis_coordinator,
)

FRONTEND_SESSION = "premium_client-1732972800000"
SCRIPTS = ("_start", "_take", "_heartbeat", "_release", "_append", "_close_lost")


def slot(key: str) -> int:
    return key_slot(key.encode())


def every_key(keys: RedisKeys, session_id: str, run_id: str) -> list[str]:
    return [
        keys.lease(session_id),
        keys.queue(session_id),
        keys.latest(session_id),
        keys.open(session_id),
        keys.events(session_id, run_id),
        keys.alive(session_id, run_id),
        keys.done(session_id, run_id),
        keys.cancel(session_id, run_id),
    ]


@pytest.mark.parametrize("prefix", ["lex:", "lex-test:1a2b:", ""])
@pytest.mark.parametrize("session_id", [FRONTEND_SESSION, "bound-0123456789abcdef", "a.b_c:d-e"])
def test_every_key_of_a_session_and_its_runs_hashes_to_one_slot(
    prefix: str, session_id: str
) -> None:
    keys = RedisKeys(prefix)
    runs = [str(uuid.uuid4()) for _ in range(3)]
    slots = {slot(key) for run_id in runs for key in every_key(keys, session_id, run_id)}
    assert slots == {slot(keys.lease(session_id))}


def test_sessions_spread_over_the_slots() -> None:
    keys = RedisKeys("lex:")
    slots = {slot(keys.lease(f"premium_client-{n}")) for n in range(50)}
    assert len(slots) > 40


@pytest.fixture
async def coordinator(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisTurnCoordinator]:
    async with open_redis_coordinator(
        redis_url,
        key_prefix=redis_prefix,
        on_busy="enqueue",
        lease_s=0.3,
        finished_ttl_s=60,
    ) as opened:
        try:
            yield opened
        finally:
            await opened.shutdown(1)


def record_script_keys(coordinator: RedisTurnCoordinator) -> dict[str, list[list[str]]]:
    """Wraps each script of `coordinator`; returns the keys of every call, by script."""
    calls: dict[str, list[list[str]]] = {name: [] for name in SCRIPTS}
    for name in SCRIPTS:
        script = getattr(coordinator, name)

        async def recording(
            *, keys: list[str], args: list[Any], _n: str = name, _s: Any = script
        ) -> Any:
            calls[_n].append(list(keys))
            return await _s(keys=keys, args=args)

        setattr(coordinator, name, recording)
    return calls


def answer_slowly(session_id: str, seconds: float) -> Executor:
    async def execute(run: TurnSink, wait_turn: WaitTurn | None) -> None:
        if wait_turn is not None:
            await wait_turn()
        run.publish(TextChunk(text="Hello", message_id=None))
        await asyncio.sleep(seconds)
        run.publish(TurnEnd(status="completed", session_id=session_id))

    return execute


async def test_every_key_each_script_touches_for_a_session_is_in_its_slot(
    coordinator: RedisTurnCoordinator,
) -> None:
    calls = record_script_keys(coordinator)
    session = FRONTEND_SESSION
    first = await coordinator.start(session, answer_slowly(session, 0.4))  # heartbeats renew it
    queued = await coordinator.start(session, answer_slowly(session, 0))  # takes the lease after
    await first.wait_finished()
    await queued.wait_finished()
    assert await coordinator.close_lost(session, first.run_id) == 0  # already closed

    assert {name for name, made in calls.items() if made} == set(SCRIPTS)
    expected = slot(coordinator.keys.lease(session))
    for name, made in calls.items():
        for keys in made:
            assert {slot(key) for key in keys} == {expected}, (name, keys)


async def test_the_turn_after_one_whose_process_died_is_told_so(
    coordinator: RedisTurnCoordinator,
) -> None:
    session = "s-lost"
    keys = coordinator.keys
    dead_run = str(uuid.uuid4())
    # What a process leaves behind when it dies right after taking the session: START's keys.
    await coordinator._start(
        keys=[
            keys.lease(session),
            keys.queue(session),
            keys.alive(session, dead_run),
            keys.latest(session),
            keys.open(session),
        ],
        args=[dead_run, "1", 3, coordinator.lease_ms, 60, OPEN_TURN_TTL_S],
    )
    for _ in range(100):  # its lease lapses: nobody renews it
        if not await coordinator.is_running(session):
            break
        await asyncio.sleep(0.05)

    after_loss = await coordinator.start(session, answer_slowly(session, 0))
    await after_loss.wait_finished()
    next_turn = await coordinator.start(session, answer_slowly(session, 0))
    await next_turn.wait_finished()

    assert after_loss.after_lost_turn is True
    assert next_turn.after_lost_turn is False  # the turn before it wrote its end
    assert await coordinator.client.exists(keys.open(session)) == 0


def answer_in_three_events(session_id: str) -> Executor:
    async def execute(run: TurnSink, wait_turn: WaitTurn | None) -> None:
        run.publish(TextChunk(text="Hello", message_id=None))
        run.publish(TextChunk(text=" there", message_id=None))
        run.publish(TurnEnd(status="completed", session_id=session_id))

    return execute


@pytest.mark.parametrize("remote", [False, True], ids=["this-replica", "another-replica"])
@pytest.mark.parametrize("seen", [2, 3, 999_999])
async def test_a_client_that_saw_the_end_gets_only_the_end_again(
    coordinator: RedisTurnCoordinator, remote: bool, seen: int
) -> None:
    session = "s-rejoin-after-end"
    run = await coordinator.start(session, answer_in_three_events(session))
    await run.wait_finished()
    feed = RemoteTurnFeed(coordinator, session, run.run_id) if remote else run

    async def rest() -> list[tuple[int, TurnEvent]]:
        return [item async for item in feed.follow(feed.sequence_after(run.event_id(seen)))]

    assert await asyncio.wait_for(rest(), timeout=5) == [
        (2, TurnEnd(status="completed", session_id=session))
    ]


async def test_another_replica_rejoining_a_finished_turn_sends_only_what_was_missed(
    coordinator: RedisTurnCoordinator,
) -> None:
    session = "s-rejoin-missed"
    run = await coordinator.start(session, answer_in_three_events(session))
    await run.wait_finished()
    feed = RemoteTurnFeed(coordinator, session, run.run_id)

    rest = [item async for item in feed.follow(feed.sequence_after(run.event_id(0)))]

    assert [sequence for sequence, _ in rest] == [1, 2]
    assert isinstance(rest[-1][1], TurnEnd)
