"""A session's running turn: rejoin its stream (`GET .../stream`) or stop it (`POST .../cancel`).

Both need the session's secret or the operator's token (`api.deps.session_access`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse

from api.deps import ServicesDep, SessionAccessDep
from api.errors import ApiError
from api.schemas.query import ErrorResponse, StreamFormatQuery
from api.stream.response import follow_run
from api.stream.sse import StreamFormat

router = APIRouter(prefix="/sessions/{session_id}", tags=["turns"])


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The turn's events, as SSE."},
        404: {"model": ErrorResponse, "description": "No turn of this session is known."},
    },
)
async def rejoin(
    session: SessionAccessDep,
    services: ServicesDep,
    stream_format: StreamFormatQuery = StreamFormat.TEXT,
    last_event_id: Annotated[
        str | None,
        Header(description="The id of the last event received; only later events are sent."),
    ] = None,
) -> EventSourceResponse:
    """Rejoins the session's running turn (or its last one), replaying what was missed."""
    run = await services.turns.latest(session.key)
    if run is None:
        raise ApiError(
            404, "not_found", f"No turn of session {session.session_id!r} is running or recent."
        )
    return follow_run(
        run,
        stream_format,
        start=run.sequence_after(last_event_id),
        session_id=session.session_id,
        shutdown_grace_s=services.settings.shutdown_grace_s,
    )


@router.post(
    "/cancel",
    responses={409: {"model": ErrorResponse, "description": "Nothing is running."}},
)
async def cancel(session: SessionAccessDep, services: ServicesDep) -> dict[str, Any]:
    """Stops the session's running turn; what was already said and shown is kept."""
    run_id = await services.turns.cancel(session.key)
    if run_id is None:
        raise ApiError(409, "not_running", f"Session {session.session_id!r} has no turn running.")
    return {"cancelled": True, "run_id": run_id, "session_id": session.session_id}
