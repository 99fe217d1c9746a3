"""Reads a session back from the service's database: its messages and what they weigh.

The conversation is read through the real graph and saver (the messages channel is rebuilt from
its stored deltas), so the "transcript" is exactly what the service would load for the session.
Its size is the messages serialized once with the checkpointer's own serializer: the database
cannot hold the conversation in fewer bytes than that, so storage is quoted as a multiple of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.graph import compile_graph
from bench.clients import bench_tools, floor_model
from checkpoints.saver import thread_id_for
from checkpoints.serde import MemoizingSerializer


@dataclass(frozen=True)
class Transcript:
    """A saved conversation and its size.

    Attributes:
        messages: The messages, oldest first.
        serialized_bytes: Bytes of the messages serialized once, as the checkpointer serializes.
        text_bytes: UTF-8 bytes of the messages' text alone.
    """

    messages: list[BaseMessage]
    serialized_bytes: int
    text_bytes: int


async def read_transcript(database: Path, session_id: str) -> Transcript:
    """Loads a session's conversation from the service's SQLite file (read while it runs)."""
    async with AsyncSqliteSaver.from_conn_string(str(database)) as saver:
        saver.serde = MemoizingSerializer()  # reads what the service compressed
        # Reading state never calls the model: any chat model that binds tools will do.
        unused_model = floor_model("http://127.0.0.1:9")
        graph = compile_graph(unused_model, bench_tools(), checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": thread_id_for(session_id)}}
        snapshot = await graph.aget_state(config)
    messages = list(snapshot.values.get("messages", []))
    _, blob = JsonPlusSerializer().dumps_typed(messages)
    text = sum(len(message.text.encode()) for message in messages)
    return Transcript(messages, len(blob), text)
