"""In-process coordination: rejoining a finished turn, calls left open, a crashing turn."""

from __future__ import annotations

import logging

import pytest

from api.stream.events import TextChunk, TurnEnd, TurnEvent
from api.telemetry.logs import session_hash
from api.turns.coordination.base import TurnSink, WaitTurn
from api.turns.coordination.local import TurnManager, TurnRun

SESSION = "premium_client-1732972800000"


async def answer(run: TurnSink, wait_turn: WaitTurn | None) -> None:
    run.publish(TextChunk(text="Hello", message_id=None))
    run.publish(TextChunk(text=" there", message_id=None))
    run.publish(TurnEnd(status="completed", session_id=SESSION))


async def followed(run: TurnRun, last_event_id: str) -> list[tuple[int, TurnEvent]]:
    return [item async for item in run.follow(run.sequence_after(last_event_id))]


@pytest.mark.parametrize("after", [0, 1])
async def test_rejoining_a_finished_turn_sends_only_what_was_missed(after: int) -> None:
    manager = TurnManager()
    run = await manager.start(SESSION, answer)
    await run.wait_finished()

    rest = await followed(run, run.event_id(after))

    assert [sequence for sequence, _ in rest] == list(range(after + 1, 3))
    assert isinstance(rest[-1][1], TurnEnd)


@pytest.mark.parametrize("seen", [2, 3, 999_999])
async def test_a_client_that_saw_the_end_gets_only_the_end_again(seen: int) -> None:
    manager = TurnManager()
    run = await manager.start(SESSION, answer)
    await run.wait_finished()

    rest = await followed(run, run.event_id(seen))

    assert rest == [(2, TurnEnd(status="completed", session_id=SESSION))]


async def test_only_a_sessions_first_turn_in_this_process_checks_for_calls_left_open() -> None:
    """A crashed predecessor leaves no trace but the saved history: look at it once per session."""
    manager = TurnManager()
    first = await manager.start(SESSION, answer)
    await first.wait_finished()
    second = await manager.start(SESSION, answer)
    await second.wait_finished()
    other = await manager.start("another-session", answer)
    await other.wait_finished()
    assert [first.after_lost_turn, second.after_lost_turn, other.after_lost_turn] == [
        True,
        False,
        True,
    ]


async def test_a_turn_that_crashes_is_logged_with_its_session_hashed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def crash(run: TurnSink, wait_turn: WaitTurn | None) -> None:
        raise RuntimeError("the model node fell over")

    manager = TurnManager()
    with caplog.at_level(logging.ERROR, logger="api.turns.coordination.local"):
        run = await manager.start(SESSION, crash)
        assert run.task is not None
        with pytest.raises(RuntimeError, match="fell over"):
            await run.task

    [record] = [r for r in caplog.records if r.getMessage().startswith("turn task crashed")]
    assert record.name == "api.turns.coordination.local"
    assert record.getMessage() == (
        f"turn task crashed: session={session_hash(SESSION)} run={run.run_id}"
    )
    assert SESSION not in record.getMessage()
    assert run.done
