"""`POST /query`: one customer message in, the answer out as a Server-Sent Event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import ServicesDep
from api.schemas import ErrorResponse, QueryRequest
from api.sse import SSE_LINE_SEPARATOR, to_sse
from api.turns import TurnRequest, run_turn, user_id_for

router = APIRouter(tags=["chat"])

KEEPALIVE_PING_S = 15
STREAM_HEADERS = {"X-Accel-Buffering": "no", "Cache-Control": "no-cache"}


@router.post(
    "/query",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The answer, as SSE."},
        422: {"model": ErrorResponse, "description": "The request is invalid."},
    },
)
async def query(body: QueryRequest, services: ServicesDep) -> EventSourceResponse:
    """Answers one message: `chunk`s of text, `tool_use`/`tool_output` per tool call, then `end`."""
    request = TurnRequest(
        session_id=body.session_id,
        query=body.query,
        user_id=user_id_for(body.session_id, body.user_id),
        timezone=services.settings.timezone,
    )
    stream_format = body.stream_format

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for event in run_turn(services.graph, request):
            yield to_sse(event, stream_format)

    return EventSourceResponse(
        events(), sep=SSE_LINE_SEPARATOR, ping=KEEPALIVE_PING_S, headers=STREAM_HEADERS
    )
