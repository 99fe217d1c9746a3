"""The Studio copy of one saved session, and the checkpointer `langgraph dev` opens on it.

`langgraph dev` never opens the app's database: `lex studio` copies the one thread it was asked for
(`copy_thread`) into a fresh SQLite file, so runs, forks and edits made in Studio land in that copy
and nothing of other sessions, the session list or the appointments is ever in reach. The copy goes
through LangGraph's saver interface (`alist` on the source, `aput` and `aput_writes` on the copy),
so it reads SQLite and Postgres alike and keeps checkpoint ids, parents, metadata and pending
writes: the messages channel is stored as per-step writes (`agent.state`), so those writes are the
conversation, and a copied thread rebuilds it exactly as the source does.

One thing the read interface does not return is a write's task path, which savers use only to
order the writes of one step (`writes_sort_key`). The copy gives each task's writes a path that
sorts them as the source sorted them, so a step replays its writes in the same order.

`langgraph.json` names `studio_checkpointer` as `checkpointer.path`; the dev server calls it without
arguments, which is why it reads the copy's path from `LEX_STUDIO_COPY` (set by `lex studio`).
Without it (a `langgraph dev` started by hand) it keeps everything in memory.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, PendingWrite
from langgraph.checkpoint.memory import InMemorySaver

from checkpoints.saver import open_checkpointer
from checkpoints.serde import MemoizingSerializer

logger = logging.getLogger(__name__)

STUDIO_COPY_ENV: Final = "LEX_STUDIO_COPY"
"""Environment variable naming the Studio copy's file (set by `lex studio` for its dev server)."""
ROOT_NAMESPACE: Final = ""
"""Checkpoint namespace of the graph itself (subgraphs have their own)."""


@dataclass(frozen=True)
class CopiedThread:
    """What `copy_thread` copied.

    Attributes:
        checkpoints: How many checkpoints (every namespace, every branch).
        head: The id of the newest checkpoint of the graph itself; None when nothing was copied.
    """

    checkpoints: int
    head: str | None


def tasks_in_order(writes: Sequence[PendingWrite]) -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """Groups a checkpoint's pending writes by task, keeping their order.

    Savers return pending writes sorted by (task path, task id, index), so one task's writes are
    next to each other.

    Yields:
        Each task's id and its writes as (channel, value) pairs.
    """
    for task_id, group in itertools.groupby(writes, key=lambda write: write[0]):
        yield task_id, [(channel, value) for _task, channel, value in group]


async def copy_thread(
    source: BaseCheckpointSaver[Any], target: BaseCheckpointSaver[Any], thread_id: str
) -> CopiedThread:
    """Copies every checkpoint of a thread and its pending writes from one saver to another.

    Checkpoint ids, parents, metadata and writes are kept, so the copy has the same branches,
    the same head and the same conversation at every checkpoint.

    Args:
        source: The saver to read (any engine).
        target: The saver to write (an empty one: nothing is replaced).
        thread_id: The thread to copy.

    Returns:
        How many checkpoints were copied, and the head's id.
    """
    copied = 0
    head: str | None = None
    async for saved in source.alist({"configurable": {"thread_id": thread_id}}):
        namespace = str(saved.config["configurable"].get("checkpoint_ns", ROOT_NAMESPACE))
        if head is None and namespace == ROOT_NAMESPACE:
            head = saved.checkpoint["id"]  # `alist` gives the newest first
        parent: RunnableConfig = saved.parent_config or {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": namespace}
        }
        stored = await target.aput(
            parent,
            saved.checkpoint,
            saved.metadata,
            dict(saved.checkpoint["channel_versions"]),
        )
        for position, (task_id, writes) in enumerate(tasks_in_order(saved.pending_writes or [])):
            await target.aput_writes(stored, writes, task_id, task_path=f"{position:08d}")
        copied += 1
    logger.info("copied %d checkpoints of thread %s", copied, thread_id)
    return CopiedThread(copied, head)


@asynccontextmanager
async def studio_checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Opens the saver on the Studio copy; `langgraph.json`'s `checkpointer.path` points here.

    Without `LEX_STUDIO_COPY` the saver keeps everything in memory: a dev server started by hand
    runs the graph, saves nothing to disk and reads nothing of the app's.
    """
    copy = os.environ.get(STUDIO_COPY_ENV)
    if not copy:
        logger.warning("%s is not set: Studio's checkpoints stay in memory", STUDIO_COPY_ENV)
        yield InMemorySaver(serde=MemoizingSerializer())
        return
    path = Path(copy)
    logger.info("Studio checkpointer on %s", path)
    async with open_checkpointer(path) as saver:
        yield saver
