"""Runs one turn of a session through the graph and yields its events, `end` always last.

Whatever fails inside the turn, the client gets a short polite `chunk`, an `error` event and `end`,
and the failure is logged with its traceback; one summary line per turn is logged at INFO (never the
customer's text).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode

from agent.context import Context
from api.events import TextChunk, TurnEnd, TurnError, TurnEvent, TurnStatus
from api.translate import TurnTranslator
from checkpoints.saver import thread_id_for

logger = logging.getLogger(__name__)

STREAM_MODES: list[StreamMode] = ["messages", "updates"]
FAILURE_REPLY = "Sorry, something went wrong on my side and I could not finish that answer."
RETRY_HINT = " Please try again in a moment."


@dataclass(frozen=True)
class TurnRequest:
    """One customer message on one session."""

    session_id: str
    query: str
    user_id: str
    timezone: str


def user_id_for(session_id: str, user_id: str | None) -> str:
    """Returns who the booking tools act for: the client's user id, else one tied to the session."""
    return user_id if user_id else f"session:{session_id}"


def turn_config(session_id: str, run_id: uuid.UUID) -> RunnableConfig:
    """Returns the graph config that saves the turn under the session's thread."""
    return {"configurable": {"thread_id": thread_id_for(session_id)}, "run_id": run_id}


async def run_turn(
    graph: CompiledStateGraph[Any, Any, Any, Any], request: TurnRequest
) -> AsyncIterator[TurnEvent]:
    """Streams one turn's events; the graph's checkpointer saves the turn as it goes."""
    run_id = uuid.uuid4()
    translator = TurnTranslator()
    started = time.perf_counter()
    status: TurnStatus = "completed"
    try:
        async for part in graph.astream(
            {"messages": [HumanMessage(content=request.query)]},
            turn_config(request.session_id, run_id),
            context=Context(user_id=request.user_id, timezone=request.timezone),
            stream_mode=STREAM_MODES,
            version="v2",
        ):
            for event in translator.feed(part):
                yield event
    except Exception:
        logger.exception("turn failed: session=%s run=%s", request.session_id, run_id)
        status = "error"
        yield TextChunk(text=FAILURE_REPLY + RETRY_HINT, message_id=None)
        yield TurnError(code="internal_error", message=FAILURE_REPLY, retryable=True)
    latency_ms = round((time.perf_counter() - started) * 1000)
    logger.info(
        "turn session=%s run=%s outcome=%s tools=%s tokens=%s latency_ms=%d",
        request.session_id,
        run_id,
        status,
        ",".join(translator.tools_called) or "-",
        translator.usage.get("total_tokens", 0),
        latency_ms,
    )
    yield TurnEnd(
        status=status,
        session_id=request.session_id,
        details={
            "run_id": str(run_id),
            "thread_id": thread_id_for(request.session_id),
            "tools": translator.tools_called,
            "usage": translator.usage,
            "latency_ms": latency_ms,
        },
    )
