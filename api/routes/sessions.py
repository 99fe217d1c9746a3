"""Saved sessions: create one, list them, read one, replay it as SSE, list checkpoints, delete.

Every route but creation needs a credential: the session's secret (from `POST /sessions`) or the
operator's token; listing every session is the operator's alone (see `api.auth`).

Every route reads what it needs from the database first (a bounded number of checkpoints) and
only then responds, so a slow client never holds the checkpointer (see `api.sessions.history`).
The routes that read checkpoints (transcript, checkpoint listing, replay) stop reading when their
client hangs up (`api.disconnects`); the session list is one bounded page query, not worth it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Query, Request, Response
from sse_starlette import EventSourceResponse

from agent.messages import created_at
from api.auth import bearer_token, hash_secret, is_admin, limited_client, new_owned_session
from api.deps import AdminDep, ServicesDep, SessionAccessDep
from api.disconnects import until_disconnected
from api.errors import ApiError
from api.rate_limits import refuse_when_over
from api.schemas.query import ErrorResponse, StreamFormatQuery
from api.schemas.sessions import (
    CheckpointItem,
    CreatedSession,
    DeletedSession,
    SessionDetail,
    SessionList,
    SessionSummary,
)
from api.services import LexServices
from api.sessions.history import (
    CheckpointInfo,
    checkpoint_infos,
    head_branch,
    message_save_times,
    read_head,
    read_history,
    snapshot_messages,
)
from api.sessions.replay import replay_sse
from api.sessions.transcript import (
    SavedTurn,
    TranscriptEntry,
    split_turns,
    transcript_entries,
)
from api.stream.response import KEEPALIVE_PING_S, STREAM_HEADERS
from api.stream.sse import SSE_LINE_SEPARATOR, StreamFormat
from checkpoints.saver import thread_id_for
from checkpoints.sessions import (
    InvalidCursorError,
    SessionRecord,
    format_timestamp,
    shorten_title,
)

router = APIRouter(prefix="/sessions", tags=["sessions"])

MAX_PAGE_SIZE = 100
MAX_CHECKPOINTS_LISTED = 200
"""Each listed checkpoint is read and decoded: a bounded cost per request."""
MAX_PACE_MS = 10_000
CLIENT_CREATES_LIMITED = "You are starting conversations faster than Lex allows; wait a moment."

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No credential."},
    403: {"model": ErrorResponse, "description": "The credential does not open this session."},
    404: {"model": ErrorResponse, "description": "No such session."},
}


async def find_session(services: ServicesDep, session_id: str) -> SessionRecord:
    """Returns the registry entry of a session.

    A session saved before the registry existed has history but no entry: it is described from
    its latest checkpoint instead (it opens by id, but is not listed).

    Raises:
        ApiError: 404 when the session has neither an entry nor any history.
    """
    record = await services.sessions.get(session_id)
    if record is not None:
        return record
    thread_id = thread_id_for(session_id)
    head = await read_head(services.graph, thread_id)
    if head is None or head.created_at is None:
        raise ApiError(404, "not_found", f"No saved session {session_id!r}.")
    turns = split_turns(snapshot_messages(head))
    saved_at = format_timestamp(datetime.fromisoformat(head.created_at))
    return SessionRecord(
        session_id=session_id,
        thread_id=thread_id,
        title=shorten_title(turns[0].query) if turns else "",
        created_at=saved_at,
        updated_at=saved_at,
        turn_count=len(turns),
    )


def summary(record: SessionRecord) -> SessionSummary:
    """Returns the wire form of a registry entry."""
    return SessionSummary.model_validate(record, from_attributes=True)


@router.post(
    "",
    response_model=CreatedSession,
    status_code=201,
    responses={429: {"model": ErrorResponse, "description": "Too many sessions; see Retry-After."}},
)
async def create_session(request: Request, services: ServicesDep) -> CreatedSession:
    """Creates a session and its secret; send the secret as `Authorization: Bearer` from now on.

    The secret is shown once and only its hash is kept: a session created this way answers
    nobody without it (or the operator's token). Each client may make only so many
    (`SESSION_CREATE_RATE_LIMIT`): every session adds rows, even one never used.
    """
    if not is_admin(bearer_token(request), services.secrets):
        client = limited_client(request, services.settings.trusted_proxy_list)
        await refuse_when_over(
            await services.limits.client_session_create(client), CLIENT_CREATES_LIMITED
        )
    session_id, secret = new_owned_session()
    await services.sessions.create_owned(session_id, thread_id_for(session_id), hash_secret(secret))
    return CreatedSession(session_id=session_id, secret=secret)


@router.get(
    "",
    response_model=SessionList,
    dependencies=[AdminDep],
    responses={
        401: {"model": ErrorResponse, "description": "Not the operator."},
        422: {"model": ErrorResponse, "description": "A bad cursor or limit."},
    },
)
async def list_sessions(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> SessionList:
    """Lists saved sessions, most recently active first, a page at a time."""
    try:
        page = await services.sessions.list_page(limit, cursor)
    except InvalidCursorError as error:
        raise ApiError(422, "invalid_request", f"cursor: {error}") from None
    return SessionList(
        sessions=[summary(record) for record in page.sessions], next_cursor=page.next_cursor
    )


@router.get("/{session_id}", response_model=SessionDetail, responses=NOT_FOUND)
async def get_session(
    session: SessionAccessDep, services: ServicesDep, request: Request
) -> Response:
    """Returns a session's transcript: messages, tool calls with arguments, tool results, times."""
    body = await until_disconnected(request, transcript_json(services, session.key), "transcript")
    return Response(content=body, media_type="application/json")


async def transcript_json(services: LexServices, session_key: str) -> str:
    """Reads a session's transcript and serializes it.

    The transcript is the whole session, so it is serialized once, here (FastAPI would dump,
    validate and dump a returned model again), from plain data in `SessionDetail`'s shape (a test
    checks the bytes equal the model's own), with the garbage collector held off while its
    thousands of short-lived objects are built (no `await` in between: nothing else runs).
    """
    record = await find_session(services, session_key)
    head = await read_head(services.graph, record.thread_id)
    messages = snapshot_messages(head) if head is not None else []
    saved_at = {m.id: when for m in messages if m.id and (when := created_at(m)) is not None}
    if len(saved_at) < len(messages):
        # Messages saved without a time stamp: find when each first appeared (reads every step).
        snapshots = await read_history(
            services.graph, record.thread_id, services.settings.session_history_limit
        )
        branch = head_branch(snapshots)
        messages = snapshot_messages(branch[-1]) if branch else []
        saved_at = {**message_save_times(branch), **saved_at}
    with collector_paused():
        entries = transcript_entries(messages, saved_at)
        detail = {**summary(record).model_dump(), "messages": [wire_message(e) for e in entries]}
        return pydantic_core.to_json(detail).decode()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Holds off the cyclic garbage collector for a synchronous block (refcounting goes on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def wire_message(entry: TranscriptEntry) -> dict[str, Any]:
    """The wire form of a transcript entry: `TranscriptMessage`'s fields, in its order, as data.

    A transcript is the whole session (2,500 messages at 1,000 turns); building a model per
    message, even unvalidated, cost more than half of the request.
    """
    return {
        "turn": entry.turn,
        "role": entry.role,
        "id": entry.id,
        "text": entry.text,
        "created_at": entry.created_at,
        "tool_calls": [
            {"id": call.get("id"), "name": call["name"], "args": call["args"]}
            for call in entry.tool_calls
        ],
        "tool_call_id": entry.tool_call_id,
        "name": entry.name,
        "status": entry.status,
        "output": entry.output,
        "error": entry.error,
    }


@router.get(
    "/{session_id}/replay",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Each turn: a `turn` event, then the turn's events as POST /query sent.",
        },
        **NOT_FOUND,
    },
)
async def replay_session(
    session: SessionAccessDep,
    services: ServicesDep,
    request: Request,
    stream_format: StreamFormatQuery = StreamFormat.TEXT,
    pace_ms: Annotated[
        int, Query(ge=0, le=MAX_PACE_MS, description="Pause between events, in milliseconds.")
    ] = 0,
) -> EventSourceResponse:
    """Replays a saved session with the same events `POST /query` streamed, turn by turn."""
    record, turns = await until_disconnected(
        request, saved_turns(services, session.key), "replay reading"
    )
    events = replay_sse(
        turns,
        session_id=session.session_id,
        thread_id=record.thread_id,
        stream_format=stream_format,
        pace_s=pace_ms / 1000,
    )
    return EventSourceResponse(
        events, sep=SSE_LINE_SEPARATOR, ping=KEEPALIVE_PING_S, headers=STREAM_HEADERS
    )


async def saved_turns(
    services: LexServices, session_key: str
) -> tuple[SessionRecord, list[SavedTurn]]:
    """Reads a session's entry and its turns, for a replay."""
    record = await find_session(services, session_key)
    head = await read_head(services.graph, record.thread_id)
    return record, split_turns(snapshot_messages(head)) if head is not None else []


@router.get("/{session_id}/checkpoints", response_model=list[CheckpointItem], responses=NOT_FOUND)
async def list_checkpoints(
    session: SessionAccessDep,
    services: ServicesDep,
    request: Request,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_CHECKPOINTS_LISTED, description="How many of the newest checkpoints."),
    ] = 200,
) -> list[CheckpointItem]:
    """Lists a session's checkpoints oldest first, on every branch; turn ends are fork points."""
    infos = await until_disconnected(
        request, read_checkpoint_infos(services, session.key, limit), "checkpoint listing"
    )
    return [CheckpointItem.model_validate(info, from_attributes=True) for info in infos]


async def read_checkpoint_infos(
    services: LexServices, session_key: str, limit: int
) -> list[CheckpointInfo]:
    """Reads and describes up to `limit` of a session's newest checkpoints."""
    record = await find_session(services, session_key)
    return checkpoint_infos(await read_history(services.graph, record.thread_id, limit))


@router.delete(
    "/{session_id}",
    response_model=DeletedSession,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorResponse, "description": "The session is still answering."},
    },
)
async def delete_session(session: SessionAccessDep, services: ServicesDep) -> DeletedSession:
    """Deletes a session's whole history and its entry; afterwards it is 404 everywhere."""
    session_id = session.key
    record = await find_session(services, session_id)
    if await services.turns.is_running(session_id):
        raise ApiError(
            409,
            "session_busy",
            "Lex is still answering this session; stop it (POST /sessions/{id}/cancel) first.",
        )
    await services.turns.forget(session_id)
    await services.checkpointer.adelete_thread(record.thread_id)
    await services.sessions.delete(session_id)
    return DeletedSession(deleted=True, session_id=session_id)
