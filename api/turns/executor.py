"""Runs one turn of a session through the graph, publishing its events; `end` is always last.

Whatever happens, nothing the customer said or saw is lost and the session stays usable:
- a failure (Groq down, rate-limited, the database down, a bug, the turn deadline) ends with a
  short polite `chunk`, an `error` event and `end`;
- a failure or cancellation repairs the saved history: the customer's message is kept, tool calls
  left without a result get an error result, and the answer text already shown is saved. With
  the database down the repair fails too, after one wait for a connection (the pool's timeout),
  with one warning line: the next turn's model input is checked anyway (`agent/repair.py`);
- one summary line per turn is logged at INFO and the turn is measured (`api.telemetry.turns`),
  never with the customer's text.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability, StreamMode

from agent.context import Context
from agent.graph import CALL_MODEL
from agent.messages import stamped
from agent.repair import close_dangling_tool_calls
from api.outages import unavailable_store
from api.sessions.transcript import TURN_OUTCOME_KEY
from api.stream.events import TextChunk, TurnEnd, TurnError, TurnStatus
from api.telemetry.turns import TurnTelemetry
from api.turns.coordination.base import Executor, TurnSink, WaitTurn
from api.turns.failures import ModelFailure, classify
from api.turns.translate import TurnTranslator
from checkpoints.saver import thread_id_for
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)

STREAM_MODES: list[StreamMode] = ["custom", "updates"]
RETRY_HINT = " Please try again in a moment."
STOPPED_NOTE = "(stopped)"


@dataclass(frozen=True)
class TurnRequest:
    """One customer message on one session.

    Attributes:
        session_id: The client's session id.
        query: What the customer typed.
        user_id: Who the booking tools act for.
        timezone: Where "today" is read.
        config: Graph config overrides, e.g. a `checkpoint_id` to continue from (a fork).
        key: What the conversation is saved under when it is not the session id (a client-bound
            key, see `api.auth`).
        client: The client (address) whose booking allowance the turn's bookings spend; None
            when no client limit applies (the operator).
    """

    session_id: str
    query: str
    user_id: str
    timezone: str
    config: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    client: str | None = None

    @property
    def conversation_key(self) -> str:
        """What the conversation is saved and run under."""
        return self.key or self.session_id


@dataclass
class ModelHealth:
    """What the last turns revealed about the model, for `/health`.

    Attributes:
        operator_error: A problem an operator must fix (bad key, retired model), or None.
    """

    operator_error: str | None = None


async def finish_despite_cancellation(work: Coroutine[Any, Any, None]) -> None:
    """Runs `work` to its end even if the current task is cancelled again meanwhile.

    A second stop or a shutdown must not cut short the history repair and the closing `end`.
    """
    task = asyncio.ensure_future(work)
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()


def user_id_for(session_id: str, user_id: str | None) -> str:
    """Returns who the booking tools act for: a named customer, else one tied to the session.

    The two live in separate namespaces, so no caller can pass itself off as another session by
    naming `session:<their session_id>`. (The HTTP route decides who may name a customer:
    `api.customers.booking_owner`.)
    """
    return f"user:{user_id}" if user_id else f"session:{session_id}"


def turn_config(
    session_id: str, run_id: str, overrides: dict[str, Any] | None = None
) -> RunnableConfig:
    """Returns the graph config that saves the turn under the session's thread."""
    configurable = {"thread_id": thread_id_for(session_id), **(overrides or {})}
    return {"configurable": configurable, "run_id": uuid.UUID(run_id)}


class TurnExecutor:
    """Runs turns on the compiled graph, within a deadline."""

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        *,
        turn_timeout_s: float,
        health: ModelHealth | None = None,
        durability: Durability = "async",
        clock: Clock = utc_now,
        telemetry: TurnTelemetry | None = None,
    ) -> None:
        self.graph = graph
        self.clock = clock
        self.turn_timeout_s = turn_timeout_s
        self.durability: Durability = durability
        self.health = health or ModelHealth()
        self.telemetry = telemetry or TurnTelemetry()

    def for_request(self, request: TurnRequest) -> Executor:
        """Returns the coroutine function a turn coordinator runs for this request."""

        async def execute(run: TurnSink, wait_turn: WaitTurn | None) -> None:
            await self.run(run, request, wait_turn)

        return execute

    async def run(
        self, run: TurnSink, request: TurnRequest, wait_turn: WaitTurn | None = None
    ) -> None:
        """Runs the turn to its end, publishing every event to `run`."""
        translator = TurnTranslator()
        observer = self.telemetry.observe(request.session_id, run.run_id)
        human = stamped(HumanMessage(content=request.query, id=str(uuid.uuid4())), self.clock())
        config = turn_config(request.conversation_key, run.run_id, request.config)
        config["callbacks"] = observer.callbacks
        status: TurnStatus = "completed"
        failure: ModelFailure | None = None
        try:
            if wait_turn is not None:
                with observer.waiting():
                    await wait_turn()  # queued behind the session's running turn
            turn_input: list[BaseMessage] = [human]
            if run.after_lost_turn:
                # The previous turn's process may have died mid-turn: nobody closed its tool calls.
                saved_at = turn_config(request.conversation_key, run.run_id, request.config)
                turn_input = [*await self._results_for_lost_calls(saved_at), human]
            with observer.running():
                async with asyncio.timeout(self.turn_timeout_s):
                    async for part in self.graph.astream(
                        {"messages": turn_input},
                        config,
                        context=Context(
                            user_id=request.user_id,
                            client=request.client,
                            timezone=request.timezone,
                            stream_tokens=True,
                        ),
                        stream_mode=STREAM_MODES,
                        durability=self.durability,
                        version="v2",
                    ):
                        for event in translator.feed(part):
                            observer.saw(event)
                            run.publish(event)
        except asyncio.CancelledError:
            # The task exists only for this turn: a cancel (stop button, shutdown) ends it here.
            status = "cancelled"
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception as error:
            status = "error"
            failure = classify(error)
            log = logger.warning if failure.retryable else logger.error
            # The error's type and code only: Groq's error bodies may quote the conversation.
            log(
                "turn failed: session=%s run=%s code=%s error=%s",
                observer.session,
                run.run_id,
                failure.code,
                type(error).__name__,
                exc_info=failure.code == "internal_error",
            )
            if failure.operator_message:
                self.health.operator_error = failure.operator_message
        else:
            self.health.operator_error = None

        if status != "completed":
            shown = self._close_interrupted_turn(run, translator, failure)
            # The new head, also after a fork.
            head = turn_config(request.conversation_key, run.run_id)
            outcome = {
                "status": status,
                "error": None
                if failure is None
                else {
                    "code": failure.code,
                    "message": failure.message,
                    "retryable": failure.retryable,
                },
            }
            repair = self._repair(head, human, translator, shown, outcome, observer.session)
            await finish_despite_cancellation(repair)
        latency_ms = observer.finish(status, failure, translator.tools_called, request.query)
        details: dict[str, Any] = {
            "run_id": run.run_id,
            "thread_id": thread_id_for(request.conversation_key),
            "tools": translator.tools_called,
            "usage": translator.usage,
            "latency_ms": latency_ms,
        }
        run.publish(TurnEnd(status=status, session_id=request.session_id, details=details))

    @staticmethod
    def _close_interrupted_turn(
        run: TurnSink, translator: TurnTranslator, failure: ModelFailure | None
    ) -> str:
        """Publishes the closing text of a failed or stopped turn; returns that text."""
        if failure is not None:
            text = failure.message + (RETRY_HINT if failure.retryable else "")
            if translator.text_after_last_tool:
                text = " " + text  # it follows text already shown
            run.publish(TextChunk(text=text, message_id=None))
            run.publish(TurnError(failure.code, failure.message, failure.retryable))
            return text
        if not translator.text_after_last_tool:
            # The chat page drops a turn without text after its tool cards.
            text = STOPPED_NOTE if not translator.answer_text else " " + STOPPED_NOTE
            run.publish(TextChunk(text=text, message_id=None))
            return text
        return ""

    async def _results_for_lost_calls(self, config: RunnableConfig) -> list[BaseMessage]:
        """Returns error results for the tool calls a dead process left without one.

        They go in before the customer's new message, right after the calls they answer, so the
        saved history reads as it happened and stays a valid sequence for the model.
        """
        try:
            snapshot = await self.graph.aget_state(config)
        except Exception:
            logger.exception("could not read the history of thread %s", config)
            return []
        closed = close_dangling_tool_calls(list(snapshot.values.get("messages", [])))
        if closed:
            logger.info("closing %d tool calls a lost turn left open", len(closed))
        return [stamped(message, self.clock()) for message in closed]

    async def _repair(
        self,
        config: RunnableConfig,
        human: HumanMessage,
        translator: TurnTranslator,
        closing_text: str,
        outcome: dict[str, Any],
        session: str,
    ) -> None:
        """Saves what the customer said and saw, and closes dangling tool calls.

        The closing message records how the turn ended, so a replay ends it the same way.
        `session` (hashed) names the session in the log.
        """
        try:
            snapshot = await self.graph.aget_state(config)
            saved: list[BaseMessage] = list(snapshot.values.get("messages", []))
            saved_ids = {message.id for message in saved if message.id}
            additions: list[BaseMessage] = []
            if human.id not in saved_ids:
                additions.append(human)
            closed = close_dangling_tool_calls([*saved, *additions])
            additions.extend(stamped(message, self.clock()) for message in closed)
            shown = (translator.text_not_saved(saved_ids) + closing_text).strip()
            if shown:
                closing = AIMessage(
                    content=shown,
                    id=str(uuid.uuid4()),
                    response_metadata={TURN_OUTCOME_KEY: outcome},
                )
                additions.append(stamped(closing, self.clock()))
            if additions:
                await self.graph.aupdate_state(config, {"messages": additions}, as_node=CALL_MODEL)
        except Exception as error:
            store = unavailable_store(error)
            if store is None:
                logger.exception("could not repair the history of thread %s", config)
            else:  # an outage, already logged as the turn's failure: no traceback
                logger.warning(
                    "could not repair the history: session=%s %s did not answer (%s)",
                    session,
                    store,
                    type(error).__name__,
                )
