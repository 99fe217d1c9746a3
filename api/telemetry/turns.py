"""What one turn leaves behind for operators: its metrics, its span and its summary log line.

The executor opens a `TurnObserver` per turn and tells it when the turn waits, runs, emits events
and ends; everything measured about a turn is decided here, so the executor stays about running it.
The summary line carries ids, the models, tools, outcome, latencies and tokens, never text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from api.stream.events import TextChunk, ToolOutput, TurnEvent, TurnStatus
from api.telemetry.logs import session_hash
from api.telemetry.metrics import BOOKING_CANCELLED, BOOKING_MADE, LexMetrics
from api.telemetry.model_calls import ModelCallRecorder
from api.telemetry.tracing import Tracing
from api.turns.failures import ModelFailure
from tools.bookings import REPLACED_CONFIRMATION_ID
from tools.names import CANCEL_APPOINTMENT, SCHEDULE_APPOINTMENT

logger = logging.getLogger(__name__)

BOOKING_ACTIONS = {SCHEDULE_APPOINTMENT: BOOKING_MADE, CANCEL_APPOINTMENT: BOOKING_CANCELLED}
"""Tools whose success changes the appointment book, and how the bookings metric names it."""


@dataclass
class TurnTelemetry:
    """Builds the observer of each turn; shared by every turn of the app.

    Attributes:
        metrics: Where turns are counted.
        tracing: What traces a turn.
        substituted_models: Models answering in place of a retired configured model.
        log_customer_text: Add the customer's message to the summary line, at DEBUG.
    """

    metrics: LexMetrics = field(default_factory=LexMetrics.create)
    tracing: Tracing = field(default_factory=Tracing)
    substituted_models: Iterable[str] = frozenset()
    log_customer_text: bool = False

    def observe(self, session_id: str, run_id: str) -> TurnObserver:
        """Returns the observer of one turn."""
        return TurnObserver(self, session_id, run_id)


class TurnObserver:
    """Measures one turn, from its queueing to its `end`.

    Args:
        telemetry: The app's telemetry.
        session_id: The session the turn belongs to (logged hashed).
        run_id: The turn's run id.
    """

    def __init__(self, telemetry: TurnTelemetry, session_id: str, run_id: str) -> None:
        self._telemetry = telemetry
        self._metrics = telemetry.metrics
        self.session = session_hash(session_id)
        self.run_id = run_id
        self.model_calls = ModelCallRecorder(
            self._metrics, substituted=telemetry.substituted_models
        )
        self.callbacks: list[BaseCallbackHandler] = [
            self.model_calls,
            *telemetry.tracing.callbacks(run_id),
        ]
        self._started = time.perf_counter()
        self._queued_s = 0.0
        self._first_chunk_s: float | None = None

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Counts the turn as queued while it waits behind its session's running turn."""
        self._metrics.turns_queued.inc()
        try:
            yield
        finally:
            self._metrics.turns_queued.dec()
            self._queued_s = time.perf_counter() - self._started
            self._started = time.perf_counter()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Counts the turn as running, inside its span, while the graph runs it."""
        self._started = time.perf_counter()
        self._metrics.turns_running.inc()
        try:
            with self._telemetry.tracing.turn_span(self.session, self.run_id):
                yield
        finally:
            self._metrics.turns_running.dec()

    def saw(self, event: TurnEvent) -> None:
        """Takes note of an event the graph produced."""
        if isinstance(event, TextChunk):
            if self._first_chunk_s is None:
                self._first_chunk_s = time.perf_counter() - self._started
                self._metrics.first_chunk_seconds.observe(self._first_chunk_s)
        elif isinstance(event, ToolOutput):
            self._metrics.tool_calls.labels(tool=event.name, status=event.status).inc()
            action = BOOKING_ACTIONS.get(event.name)
            if action is not None and event.status == "success":
                self._metrics.bookings.labels(action=action).inc()
                if isinstance(event.output, dict) and event.output.get(REPLACED_CONFIRMATION_ID):
                    self._metrics.bookings.labels(action=BOOKING_CANCELLED).inc()  # a move

    def finish(
        self,
        status: TurnStatus,
        failure: ModelFailure | None,
        tools: Iterable[str],
        query: str,
    ) -> int:
        """Counts the finished turn and logs its summary line; returns its latency in ms."""
        latency_s = time.perf_counter() - self._started
        outcome = failure.code if failure is not None else status
        self._metrics.turns.labels(outcome=outcome).inc()
        self._metrics.turn_seconds.observe(latency_s)
        calls = self.model_calls
        fields: dict[str, Any] = {
            "event": "turn",
            "session": self.session,
            "run_id": self.run_id,
            "model": ",".join(calls.models) or None,
            "tools": list(tools),
            "outcome": outcome,
            "latency_ms": round(latency_s * 1000),
            "first_chunk_ms": _ms(self._first_chunk_s),
            "queued_ms": round(self._queued_s * 1000),
            "model_calls": calls.calls,
            "tokens_in": calls.input_tokens,
            "tokens_out": calls.output_tokens,
        }
        logger.info(
            "turn session=%s run=%s model=%s outcome=%s tools=%s tokens=%d/%d "
            "first_chunk_ms=%s latency_ms=%d",
            fields["session"],
            self.run_id,
            fields["model"] or "-",
            outcome,
            ",".join(fields["tools"]) or "-",
            calls.input_tokens,
            calls.output_tokens,
            fields["first_chunk_ms"] if fields["first_chunk_ms"] is not None else "-",
            fields["latency_ms"],
            extra=fields,
        )
        if self._telemetry.log_customer_text:
            logger.debug("turn run=%s query=%r", self.run_id, query, extra={"event": "turn_text"})
        return int(fields["latency_ms"])


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)
