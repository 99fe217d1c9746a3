"""Reads a session's saved history from the checkpointer: its checkpoints, its head, fork points.

The SQLite saver holds a lock while a history iterator is open, so a paused iterator would block
every turn's writes. Everything here reads a bounded number of checkpoints into memory first and
lets go of the saver before anyone responds; nothing streams straight from the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from api.errors import ApiError
from api.telemetry.logs import session_hash
from checkpoints.saver import thread_id_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointInfo:
    """One saved checkpoint of a session, as `GET /sessions/{id}/checkpoints` lists it.

    Attributes:
        checkpoint_id: Its id; pass it as `checkpoint_id` to `POST /query` to continue from it.
        parent_checkpoint_id: The checkpoint it follows, None for the first.
        step: The graph step (-1 for a turn's input, then 0, 1, ...).
        created_at: When it was written.
        source: input (a user message arrived), loop (a node finished), update or fork.
        message_count: Messages in the conversation at that point.
        next: Nodes still to run from it; empty at the end of a turn.
    """

    checkpoint_id: str
    parent_checkpoint_id: str | None
    step: int
    created_at: datetime | None
    source: str
    message_count: int
    next: list[str]


def thread_config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """Returns the config that reads a thread at its head, or at one of its checkpoints."""
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def checkpoint_id_of(config: RunnableConfig | None) -> str | None:
    """Returns the checkpoint id a snapshot's config points at."""
    if not config:
        return None
    value = config.get("configurable", {}).get("checkpoint_id")
    return str(value) if value is not None else None


def parse_time(value: str | None) -> datetime | None:
    """Parses a checkpoint's ISO 8601 timestamp."""
    return datetime.fromisoformat(value) if value else None


def snapshot_messages(snapshot: StateSnapshot) -> list[BaseMessage]:
    """Returns the conversation saved in a snapshot."""
    values = snapshot.values if isinstance(snapshot.values, dict) else {}
    return list(values.get("messages") or [])


async def read_history(
    graph: CompiledStateGraph[Any, Any, Any, Any], thread_id: str, limit: int
) -> list[StateSnapshot]:
    """Returns up to `limit` of a thread's newest checkpoints, newest first, fully read.

    Through the head cache, the listed checkpoints are rebuilt oldest first, each from its
    parent, before LangGraph reads them newest first (which would otherwise walk the whole
    history for each).

    Args:
        graph: The graph compiled with the service's checkpointer.
        thread_id: The session's thread.
        limit: Most checkpoints read; older ones are left out.
    """
    config = thread_config(thread_id)
    return [snapshot async for snapshot in graph.aget_state_history(config, limit=limit)]


async def read_head(
    graph: CompiledStateGraph[Any, Any, Any, Any], thread_id: str
) -> StateSnapshot | None:
    """Returns the thread's newest checkpoint (the head of its current branch), or None."""
    snapshot = await graph.aget_state(thread_config(thread_id))
    return snapshot if snapshot.created_at is not None else None


def checkpoint_infos(snapshots: Sequence[StateSnapshot]) -> list[CheckpointInfo]:
    """Describes checkpoints oldest first (checkpoint ids grow with time)."""
    infos = [
        CheckpointInfo(
            checkpoint_id=checkpoint_id_of(snapshot.config) or "",
            parent_checkpoint_id=checkpoint_id_of(snapshot.parent_config),
            step=int((snapshot.metadata or {}).get("step", 0)),
            created_at=parse_time(snapshot.created_at),
            source=str((snapshot.metadata or {}).get("source", "")),
            message_count=len(snapshot_messages(snapshot)),
            next=list(snapshot.next),
        )
        for snapshot in snapshots
    ]
    return sorted(infos, key=lambda info: info.checkpoint_id)


def head_branch(snapshots: Sequence[StateSnapshot]) -> list[StateSnapshot]:
    """Returns the head's ancestry, oldest first: the checkpoints of the current branch.

    Args:
        snapshots: A thread's checkpoints, newest first (as `read_history` returns them).
    """
    if not snapshots:
        return []
    by_id = {checkpoint_id_of(snapshot.config): snapshot for snapshot in snapshots}
    branch: list[StateSnapshot] = []
    current: StateSnapshot | None = snapshots[0]
    while current is not None:
        branch.append(current)
        current = by_id.get(checkpoint_id_of(current.parent_config))
    branch.reverse()
    return branch


def message_save_times(branch: Sequence[StateSnapshot]) -> dict[str, datetime]:
    """Returns when each message (by id) first appeared on a branch, oldest checkpoint first."""
    times: dict[str, datetime] = {}
    for snapshot in branch:
        created_at = parse_time(snapshot.created_at)
        if created_at is None:
            continue
        for message in snapshot_messages(snapshot):
            if message.id and message.id not in times:
                times[message.id] = created_at
    return times


async def fork_config(
    graph: CompiledStateGraph[Any, Any, Any, Any], session_id: str, checkpoint_id: str
) -> RunnableConfig:
    """Returns the config that continues a session from one of its checkpoints.

    Streaming the next turn with this config writes a new branch starting at `checkpoint_id`;
    its checkpoints are the newest, so the branch becomes the session's head, and the old
    branch's checkpoints stay listed.

    Args:
        graph: The graph compiled with the service's checkpointer.
        session_id: The session the checkpoint must belong to.
        checkpoint_id: A checkpoint at the end of a turn (`next` empty).

    Returns:
        `{"configurable": {"thread_id": ..., "checkpoint_id": ...}}`, to pass to `graph.astream`.

    Raises:
        ApiError: 422 `invalid_request` for an id that is not a checkpoint id, 404 `not_found`
            when the session has no such checkpoint, 422 `checkpoint_not_forkable` for a
            checkpoint in the middle of a turn.
    """
    try:
        uuid.UUID(checkpoint_id)
    except ValueError:
        raise ApiError(
            422,
            "invalid_request",
            f"checkpoint_id {checkpoint_id!r} is not a checkpoint id; "
            "take one from GET /sessions/{session_id}/checkpoints.",
        ) from None
    thread_id = thread_id_for(session_id)
    config = thread_config(thread_id, checkpoint_id)
    snapshot = await graph.aget_state(config)
    if snapshot.created_at is None:
        raise ApiError(
            404,
            "not_found",
            f"Session {session_id!r} has no checkpoint {checkpoint_id!r}.",
        )
    if snapshot.next:
        raise ApiError(
            422,
            "checkpoint_not_forkable",
            f"Checkpoint {checkpoint_id!r} is in the middle of a turn (next: "
            f"{', '.join(snapshot.next)}); continue from a checkpoint whose `next` is empty.",
        )
    logger.info("session=%s continues from checkpoint %s", session_hash(session_id), checkpoint_id)
    return config
