"""The memoizing checkpoint serializer: same values as LangGraph's, message blobs decoded once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.graph import compile_graph
from checkpoints.serde import COMPRESSED_TYPE, MemoizingSerializer
from tests.support.scripted_model import ScriptedChatModel, text

PLAIN = JsonPlusSerializer()


def blob(value: Any) -> tuple[str, bytes]:
    return PLAIN.dumps_typed(value)


def test_values_read_back_equal_what_langgraph_reads() -> None:
    serde = MemoizingSerializer()
    for value in (
        [HumanMessage("Hi", id="h1"), AIMessage("Hello!", id="a1")],
        HumanMessage("Hi", id="h1"),
        {"v": 4, "channel_versions": {"messages": "0001.5"}},
        None,
        b"raw",
        "text",
    ):
        assert serde.loads_typed(blob(value)) == PLAIN.loads_typed(blob(value))


def test_a_message_blob_is_decoded_once_and_shared() -> None:
    serde = MemoizingSerializer()
    stored = blob([HumanMessage("Hi", id="h1"), AIMessage("Hello!", id="a1")])
    first, second = serde.loads_typed(stored), serde.loads_typed(stored)
    assert first == second
    assert first is not second  # each read gets its own list...
    assert all(a is b for a, b in zip(first, second, strict=True))  # ...of the same messages
    assert serde.cached == 1


def test_anything_but_messages_is_decoded_afresh() -> None:
    serde = MemoizingSerializer()
    stored = blob({"v": 4, "channel_values": {}})
    first, second = serde.loads_typed(stored), serde.loads_typed(stored)
    assert first == second and first is not second
    first["v"] = 5
    assert serde.loads_typed(stored)["v"] == 4
    assert serde.cached == 0


def test_memory_is_bounded_least_recently_read_first() -> None:
    serde = MemoizingSerializer(max_entries=2)
    blobs = [blob(HumanMessage(f"m{n}", id=f"h{n}")) for n in range(3)]
    first = serde.loads_typed(blobs[0])
    serde.loads_typed(blobs[1])
    assert serde.loads_typed(blobs[0]) is first  # read again: now the most recent
    serde.loads_typed(blobs[2])  # evicts blobs[1]
    assert serde.cached == 2
    assert serde.loads_typed(blobs[0]) is first


def test_a_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoizingSerializer(max_entries=0)


async def test_a_saver_with_it_reads_every_turn_back(tmp_path: Path) -> None:
    serde = MemoizingSerializer()
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "lex.sqlite")) as saver:
        saver.serde = serde
        model = ScriptedChatModel(script=[text(f"Answer {n}") for n in range(5)])
        graph = compile_graph(model, [], checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "t"}}
        for n in range(5):
            await graph.ainvoke({"messages": [HumanMessage(f"Question {n}")]}, config)
        saved = (await graph.aget_state(config)).values["messages"]
        again = (await graph.aget_state(config)).values["messages"]
    assert [m.text for m in saved] == [
        t for n in range(5) for t in (f"Question {n}", f"Answer {n}")
    ]
    assert saved == again
    assert serde.cached > 0


def test_values_are_stored_compressed_and_read_back() -> None:
    serde = MemoizingSerializer()
    message = AIMessage("The weather in Miami is rainy, 23°C." * 3, id="m-1")
    type_, blob = serde.dumps_typed([message])
    plain_type, plain = PLAIN.dumps_typed([message])
    assert type_ == COMPRESSED_TYPE and len(blob) < len(plain) * 0.7
    assert MemoizingSerializer().loads_typed((type_, blob))[0].text == message.text
    # What an earlier release stored, uncompressed, still reads.
    assert serde.loads_typed((plain_type, plain))[0].text == message.text
    assert serde.dumps_typed(None) == PLAIN.dumps_typed(None)
