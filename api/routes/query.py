"""`POST /query`: one customer message in, the answer out as a Server-Sent Event stream.

The turn runs as a server-side task; this stream only follows it, so a client that goes away does
not stop the turn (it can rejoin through `GET /sessions/{id}/stream`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import Role, bearer_token, is_admin, limited_client
from api.customers import booking_owner
from api.deps import ServicesDep, query_conversation
from api.errors import ApiError
from api.rate_limits import MeteredSink, refuse_when_over
from api.schemas.query import ErrorResponse, QueryRequest
from api.services import LexServices
from api.sessions.history import fork_config
from api.stream.events import TextChunk, TurnEnd, TurnEvent
from api.stream.response import STREAM_HEADERS, follow_run
from api.stream.sse import SSE_LINE_SEPARATOR, StreamFormat, to_sse
from api.telemetry.logs import session_hash
from api.turns.coordination.base import Executor, SessionBusy, TurnSink, WaitTurn
from api.turns.executor import TurnRequest
from checkpoints.saver import thread_id_for

logger = logging.getLogger(__name__)

router = APIRouter(tags=["chat"])

BUSY_RETRY_AFTER_S = 2
REGISTRY_ATTEMPTS = 4
REGISTRY_RETRY_S = 0.2
CLIENT_LIMITED = "You are sending messages faster than Lex can answer; wait a moment."
SESSION_LIMITED = "This conversation has reached its limit of messages for now; try again later."
BUDGET_SPENT_TEXT = (
    "Lex has answered a great many questions today and is resting until tomorrow. For a test "
    "drive or anything urgent, please call your SuperCar dealership."
)


def metered(services: LexServices, execute: Executor) -> Executor:
    """Wraps a turn so its slot is given back and its tokens counted against the daily budget."""

    async def run(sink: TurnSink, wait_turn: WaitTurn | None) -> None:
        meter = MeteredSink(sink)
        try:
            await execute(meter, wait_turn)
        finally:
            services.turn_slots.give_back()
            await services.limits.spend_tokens(meter.tokens)

    return run


def budget_spent_answer(session_id: str, stream_format: StreamFormat) -> EventSourceResponse:
    """A polite answer, without calling the model, once the day's token budget is spent."""
    run_id = str(uuid.uuid4())
    events: list[TurnEvent] = [
        TextChunk(BUDGET_SPENT_TEXT, None),
        TurnEnd("completed", session_id, {"limited": "daily_token_budget"}),
    ]

    async def stream() -> AsyncIterator[ServerSentEvent]:
        for sequence, event in enumerate(events):
            yield to_sse(event, stream_format, event_id=f"{run_id}:{sequence}")

    return EventSourceResponse(stream(), sep=SSE_LINE_SEPARATOR, headers=STREAM_HEADERS)


@router.post(
    "/query",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The answer, as SSE."},
        401: {"model": ErrorResponse, "description": "The session needs its secret."},
        403: {"model": ErrorResponse, "description": "A credential or field not allowed."},
        409: {"model": ErrorResponse, "description": "The session is still answering."},
        413: {"model": ErrorResponse, "description": "The body is too large."},
        404: {"model": ErrorResponse, "description": "checkpoint_id is not of this session."},
        429: {"model": ErrorResponse, "description": "Too many messages; see Retry-After."},
        503: {"model": ErrorResponse, "description": "Too many turns running; see Retry-After."},
        415: {"model": ErrorResponse, "description": "The body is not JSON."},
        422: {"model": ErrorResponse, "description": "The request is invalid."},
    },
)
async def query(body: QueryRequest, request: Request, services: ServicesDep) -> EventSourceResponse:
    """Answers one message: `chunk`s of text, `tool_use`/`tool_output` per tool call, then `end`.

    A session made by `POST /sessions` needs its secret (`Authorization: Bearer`); any other id
    is a conversation bound to the client that sends it.
    """
    settings = services.settings
    if len(body.query) > settings.max_query_chars:
        raise ApiError(
            422,
            "query_too_long",
            f"query is {len(body.query)} characters long; the limit is {settings.max_query_chars}.",
        )
    operator = is_admin(bearer_token(request), services.secrets)
    # The client the limits count; the operator's turns are not limited, bookings included.
    client = None if operator else limited_client(request, settings.trusted_proxy_list)
    if client is not None:
        await refuse_when_over(await services.limits.client_query(client), CLIENT_LIMITED)
    conversation = await query_conversation(body.session_id, request, services)
    if not operator:
        await refuse_when_over(
            await services.limits.session_turn(conversation.key), SESSION_LIMITED
        )
    if not await services.limits.tokens_left():
        return budget_spent_answer(body.session_id, body.stream_format)
    if conversation.role is Role.CLIENT and body.checkpoint_id is not None:
        raise ApiError(
            403,
            "forbidden",
            "checkpoint_id needs a session created by POST /sessions and its secret.",
        )
    token_secret = settings.customer_token_secret
    user_id = booking_owner(
        conversation,
        user_id=body.user_id,
        customer_token=body.customer_token,
        token_secret=token_secret.get_secret_value() if token_secret else None,
    )
    overrides: dict[str, Any] = {}
    if body.checkpoint_id is not None:
        fork = await fork_config(services.graph, conversation.key, body.checkpoint_id)
        overrides = {"checkpoint_id": fork["configurable"]["checkpoint_id"]}
    turn = TurnRequest(
        session_id=body.session_id,
        query=body.query,
        user_id=user_id,
        timezone=settings.timezone,
        config=overrides,
        key=conversation.key,
        client=client,
    )
    if not services.turn_slots.try_take():
        raise ApiError(
            503,
            "server_busy",
            "Lex is answering as many customers as it can right now; try again in a moment.",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    try:
        run = await services.turns.start(
            conversation.key, metered(services, services.executor.for_request(turn))
        )
    except SessionBusy:
        services.turn_slots.give_back()
        raise ApiError(
            409,
            "session_busy",
            "Lex is still answering the previous message of this session. Wait for the answer "
            "to finish (or stop it), then send again.",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from None
    services.maintenance.after_turn(run, thread_id_for(conversation.key))
    await record_in_registry(services, conversation.key, body.query)
    return follow_run(
        run,
        body.stream_format,
        session_id=body.session_id,
        shutdown_grace_s=services.settings.shutdown_grace_s,
    )


async def record_in_registry(services: LexServices, key: str, query: str) -> None:
    """Notes the turn in the session list, retrying a write the database refused for a moment.

    Under load SQLite can answer "database is locked" past its busy timeout; the turn runs and
    is saved regardless, and a few retries keep the session from vanishing from the list.
    """
    for attempt in range(1, REGISTRY_ATTEMPTS + 1):
        try:
            await services.sessions.record_turn(key, thread_id_for(key), query)
            return
        except Exception:
            if attempt == REGISTRY_ATTEMPTS:
                logger.exception("could not record session %s in the registry", session_hash(key))
                return
            logger.warning("registry write failed (attempt %d); retrying", attempt)
            await asyncio.sleep(REGISTRY_RETRY_S * attempt)
