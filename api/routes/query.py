"""`POST /query`: one customer message in, the answer out as a Server-Sent Event stream.

The turn runs as a server-side task; this stream only follows it, so a client that goes away does
not stop the turn (it can rejoin through `GET /sessions/{id}/stream`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from api.deps import ServicesDep
from api.errors import ApiError
from api.schemas.query import ErrorResponse, QueryRequest
from api.sessions.history import fork_config
from api.stream.response import follow_run
from api.turns.coordination.base import SessionBusy
from api.turns.executor import TurnRequest, user_id_for
from checkpoints.saver import thread_id_for

logger = logging.getLogger(__name__)

router = APIRouter(tags=["chat"])

BUSY_RETRY_AFTER_S = 2


@router.post(
    "/query",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The answer, as SSE."},
        409: {"model": ErrorResponse, "description": "The session is still answering."},
        413: {"model": ErrorResponse, "description": "The body is too large."},
        404: {"model": ErrorResponse, "description": "checkpoint_id is not of this session."},
        415: {"model": ErrorResponse, "description": "The body is not JSON."},
        422: {"model": ErrorResponse, "description": "The request is invalid."},
    },
)
async def query(body: QueryRequest, services: ServicesDep) -> EventSourceResponse:
    """Answers one message: `chunk`s of text, `tool_use`/`tool_output` per tool call, then `end`."""
    settings = services.settings
    if len(body.query) > settings.max_query_chars:
        raise ApiError(
            422,
            "query_too_long",
            f"query is {len(body.query)} characters long; the limit is {settings.max_query_chars}.",
        )
    overrides: dict[str, Any] = {}
    if body.checkpoint_id is not None:
        fork = await fork_config(services.graph, body.session_id, body.checkpoint_id)
        overrides = {"checkpoint_id": fork["configurable"]["checkpoint_id"]}
    request = TurnRequest(
        session_id=body.session_id,
        query=body.query,
        user_id=user_id_for(body.session_id, body.user_id),
        timezone=settings.timezone,
        config=overrides,
    )
    try:
        run = await services.turns.start(body.session_id, services.executor.for_request(request))
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
            body.session_id, thread_id_for(body.session_id), body.query
        )
    except Exception:
        # The listing is secondary: the turn is already running and is saved regardless.
        logger.exception("could not record session %s in the registry", body.session_id)
    return follow_run(run, body.stream_format)
