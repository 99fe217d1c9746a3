"""`POST /query`: one customer message in, the answer out as a Server-Sent Event stream.

The turn runs as a server-side task; this stream only follows it, so a client that goes away does
not stop the turn (it can rejoin through `GET /sessions/{id}/stream`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from api.auth import Role
from api.customers import booking_owner
from api.deps import ServicesDep, query_conversation
from api.errors import ApiError
from api.schemas.query import ErrorResponse, QueryRequest
from api.sessions.history import fork_config
from api.stream.response import follow_run
from api.turns.coordination.base import SessionBusy
from api.turns.executor import TurnRequest
from checkpoints.saver import thread_id_for

logger = logging.getLogger(__name__)

router = APIRouter(tags=["chat"])

BUSY_RETRY_AFTER_S = 2


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
    conversation = await query_conversation(body.session_id, request, services)
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
    )
    try:
        run = await services.turns.start(conversation.key, services.executor.for_request(turn))
    except SessionBusy:
        raise ApiError(
            409,
            "session_busy",
            "Lex is still answering the previous message of this session. Wait for the answer "
            "to finish (or stop it), then send again.",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        ) from None
    services.maintenance.after_turn(run, thread_id_for(body.session_id))
    try:
        await services.sessions.record_turn(
            conversation.key, thread_id_for(conversation.key), body.query
        )
    except Exception:
        # The listing is secondary: the turn is already running and is saved regardless.
        logger.exception("could not record session %s in the registry", body.session_id)
    return follow_run(run, body.stream_format)
