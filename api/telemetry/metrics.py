"""Lex's Prometheus metrics: what they are, and their exposition for `GET /metrics`.

Each app owns its metrics in its own registry, so two apps in one process (the tests) never mix
counts. With several worker processes (`uvicorn --workers N`, gunicorn) prometheus-client's
multiprocess mode is used: when `PROMETHEUS_MULTIPROC_DIR` is set in the environment before the
server starts, every process writes its values to files in that directory and whichever worker
answers `/metrics` adds them all up (gauges of running and queued turns are summed over live
processes). The directory must be empty when the server starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

FIRST_CHUNK_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
TURN_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0, 90.0)

BOOKING_MADE = "made"
BOOKING_CANCELLED = "cancelled"

MODEL_CALL_OK = "ok"
MODEL_CALL_FALLBACK = "fallback"
MODEL_CALL_SUBSTITUTION = "substitution"


class ModelSwitchLike(Protocol):
    """What a model switch tells (`api.chat_models.ModelSwitch`)."""

    @property
    def kind(self) -> str:
        """`fallback` or `substitution`."""

    @property
    def from_model(self) -> str:
        """The model that stopped answering."""

    @property
    def to_model(self) -> str:
        """The model answering instead."""


def multiprocess_dir() -> str | None:
    """Returns the multiprocess directory when prometheus-client runs in multiprocess mode."""
    return os.environ.get(MULTIPROC_DIR_ENV) or os.environ.get(MULTIPROC_DIR_ENV.lower())


@dataclass(frozen=True)
class LexMetrics:
    """Every metric Lex exports, registered in `registry`.

    Attributes:
        registry: Where the metrics are registered (exposed as is in single-process mode).
        turns: Finished turns by outcome (`completed`, `cancelled`, or the failure code).
        first_chunk_seconds: Time from the start of a turn to the first answer text.
        turn_seconds: Time from the start of a turn to its `end` event.
        model_calls: Model calls by model and status (`ok`, `fallback`, `substitution`, `429`,
            `5xx`, `tool_use_failed`, ...).
        model_tokens: Tokens by model and direction (`input`, `output`).
        tool_calls: Tool calls by tool and status (`success`, `error`).
        turns_running: Turns running now.
        turns_queued: Turns waiting behind their session's running turn.
        rate_limited_requests: Requests a limit refused, by route and status: 429 (a client's or
            a session's rate) or 503 with Retry-After (too many turns running); and bookings the
            client's booking limit refused, as route `schedule_appointment`, status 429.
        http_requests: HTTP requests by method, route template and status code.
        bookings: Test drives booked and cancelled.
        model_switches: Another model took over, by kind (`fallback` for one call,
            `substitution` for good), from which model to which.
    """

    registry: CollectorRegistry
    turns: Counter
    first_chunk_seconds: Histogram
    turn_seconds: Histogram
    model_calls: Counter
    model_tokens: Counter
    tool_calls: Counter
    turns_running: Gauge
    turns_queued: Gauge
    rate_limited_requests: Counter
    http_requests: Counter
    bookings: Counter
    model_switches: Counter

    @classmethod
    def create(cls) -> LexMetrics:
        """Builds the metrics in a registry of their own."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            turns=Counter(
                "lex_turns", "Finished turns by outcome.", ["outcome"], registry=registry
            ),
            first_chunk_seconds=Histogram(
                "lex_turn_first_chunk_seconds",
                "Time from the start of a turn to the first answer text.",
                buckets=FIRST_CHUNK_BUCKETS_S,
                registry=registry,
            ),
            turn_seconds=Histogram(
                "lex_turn_seconds",
                "Time from the start of a turn to its end event.",
                buckets=TURN_BUCKETS_S,
                registry=registry,
            ),
            model_calls=Counter(
                "lex_model_calls",
                "Model calls by model and status.",
                ["model", "status"],
                registry=registry,
            ),
            model_tokens=Counter(
                "lex_model_tokens",
                "Tokens sent to (input) and produced by (output) the model, by model.",
                ["model", "direction"],
                registry=registry,
            ),
            tool_calls=Counter(
                "lex_tool_calls",
                "Tool calls by tool and status.",
                ["tool", "status"],
                registry=registry,
            ),
            turns_running=Gauge(
                "lex_turns_running",
                "Turns running now.",
                multiprocess_mode="livesum",
                registry=registry,
            ),
            turns_queued=Gauge(
                "lex_turns_queued",
                "Turns waiting behind their session's running turn.",
                multiprocess_mode="livesum",
                registry=registry,
            ),
            rate_limited_requests=Counter(
                "lex_rate_limited_requests",
                "Requests a limit refused: 429, or 503 with Retry-After (server busy); "
                "route schedule_appointment: bookings a client's booking limit refused.",
                ["route", "status"],
                registry=registry,
            ),
            http_requests=Counter(
                "lex_http_requests",
                "HTTP requests by method, route template and status code.",
                ["method", "route", "status"],
                registry=registry,
            ),
            model_switches=Counter(
                "lex_model_switches",
                "Another model took over: fallback (one call) or substitution (for good).",
                ["kind", "from_model", "to_model"],
                registry=registry,
            ),
            bookings=Counter(
                "lex_bookings",
                "Test drives booked (made) and cancelled.",
                ["action"],
                registry=registry,
            ),
        )

    def count_model_switch(self, switch: ModelSwitchLike) -> None:
        """Counts a model switch (a listener of the Groq models in use)."""
        self.model_switches.labels(
            kind=switch.kind, from_model=switch.from_model, to_model=switch.to_model
        ).inc()

    def exposition(self) -> bytes:
        """Returns every metric in the Prometheus text format, over all workers if several."""
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def mark_process_dead(pid: int) -> None:
    """Drops a stopped worker's live gauges (running and queued turns) in multiprocess mode."""
    path = multiprocess_dir()
    if path is not None:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
