"""Saved sessions end to end: list, transcript, replay, checkpoints, delete, on a real server."""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

import api.routes.sessions as sessions_routes
from agent.graph import compile_graph
from api.errors import ApiError
from api.schemas.sessions import SessionDetail
from api.sessions.history import (
    checkpoint_id_of,
    checkpoint_infos,
    fork_config,
    head_branch,
    read_head,
    read_history,
    snapshot_messages,
    thread_config,
)
from checkpoints.saver import thread_id_for
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.scripted_model import ScriptedChatModel, calls, text
from tests.support.sse import SseEvent, parse_like_frontend, parse_sse
from tests.support.storage import checkpoint_count, on_every_engine, open_database
from tools import InMemoryAppointmentBook, ToolServices, build_tools

HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}
SCRIPT_TURNS = [
    (
        "What's the weather in Miami?",
        [calls(("get_weather", {"city": "Miami"})), text("Sunny in Miami, perfect for a drive!")],
    ),
    (
        "Any free slots at Miami on Thursday?",
        [
            calls(
                ("check_appointment_availability", {"dealership_id": "miami", "date": "2026-11-26"})
            ),
            text("Thursday has plenty of slots."),
        ],
    ),
    (
        "And the Paris dealership?",
        [
            calls(("get_dealership_address", {"dealership_id": "paris"})),
            text("We have no dealership in Paris."),
        ],
    ),
]
END_KEYS_KEPT = ("status", "session_id", "thread_id", "tools", "usage")
"""What `end` says about the turn itself; run ids and latency are not saved, so not replayed."""


def post_query(base_url: str, query: str, session_id: str, **extra: Any) -> httpx.Response:
    body = {"query": query, "session_id": session_id, **extra}
    response = httpx.post(
        f"{base_url}/query", json=body, headers={**HEADERS, **OPERATOR}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response


def scripted_session(base_url: str, session_id: str) -> list[list[SseEvent]]:
    """Sends the scripted turns in the json format; returns each turn's events."""
    return [
        parse_sse(post_query(base_url, query, session_id, stream_format="json").text)
        for query, _ in SCRIPT_TURNS
    ]


def scripted_model() -> ScriptedChatModel:
    return ScriptedChatModel(script=[reply for _, replies in SCRIPT_TURNS for reply in replies])


def comparable(events: list[SseEvent]) -> list[tuple[str, Any]]:
    """A turn's json events with the chunks of each message joined and run ids left out."""
    result: list[tuple[str, Any]] = []
    for event in events:
        payload = event.json()
        if event.event == "chunk" and result and result[-1][0] == "chunk":
            previous = result[-1][1]
            if previous["message_id"] == payload["message_id"]:
                previous["text"] += payload["text"]
                continue
        if event.event == "end":
            payload = {key: payload.get(key) for key in END_KEYS_KEPT}
        result.append((event.event, payload))
    return result


def split_replay(events: list[SseEvent]) -> list[tuple[dict[str, Any], list[SseEvent]]]:
    """Splits a replay into (turn event data, that turn's events)."""
    turns: list[tuple[dict[str, Any], list[SseEvent]]] = []
    for event in events:
        if event.event == "turn":
            turns.append((event.json(), []))
        else:
            assert turns, f"{event.event} before the first turn event"
            turns[-1][1].append(event)
    return turns


@on_every_engine
def test_replay_yields_the_events_of_the_original_turns(lex_server: ServerFactory) -> None:
    with lex_server(chat_model=scripted_model()) as base_url:
        originals = scripted_session(base_url, "s-replay")
        response = httpx.get(
            f"{base_url}/sessions/s-replay/replay",
            params={"stream_format": "json"},
            headers=OPERATOR,
            timeout=30,
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "\r" not in response.text
    replayed = split_replay(parse_sse(response.text))
    assert [turn for turn, _ in replayed] == [
        {"index": n + 1, "query": query} for n, (query, _) in enumerate(SCRIPT_TURNS)
    ]
    for original, (_, replay) in zip(originals, replayed, strict=True):
        assert comparable(replay) == comparable(original)
    # The failed tool call replays with its error card, as it streamed.
    failed = [p for name, p in comparable(replayed[2][1]) if name == "tool_output"]
    assert failed[0]["status"] == "error" and "paris" in failed[0]["error"].lower()


def test_text_replay_reads_like_the_original_stream_to_the_frontend(lex_url: str) -> None:
    queries = ["What's the weather in Miami?", "What is the address of the Miami dealership?"]
    originals = [parse_like_frontend(post_query(lex_url, q, "s-text").text) for q in queries]
    response = httpx.get(f"{lex_url}/sessions/s-text/replay", headers=OPERATOR, timeout=30)
    replay = parse_like_frontend(response.text)

    def view(messages: list[Any]) -> list[tuple[str, str]]:
        """What the page renders: answer text joined, every other message as it came."""
        shown: list[tuple[str, str]] = []
        for message in messages:
            if message.event == "chunk" and shown and shown[-1][0] == "chunk":
                shown[-1] = ("chunk", shown[-1][1] + message.data)
            else:
                shown.append((message.event, message.data))
        return shown

    expected: list[tuple[str, str]] = []
    for index, (query, original) in enumerate(zip(queries, originals, strict=True), start=1):
        turn = json.dumps({"index": index, "query": query}, separators=(",", ":"))
        expected.append(("turn", turn))
        expected.extend(view(original))
    assert view(replay) == expected


@on_every_engine
def test_transcript_has_messages_tool_calls_results_and_times(lex_server: ServerFactory) -> None:
    with lex_server(chat_model=scripted_model()) as base_url:
        scripted_session(base_url, "s-transcript")
        response = httpx.get(f"{base_url}/sessions/s-transcript", headers=OPERATOR, timeout=10)

    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == "s-transcript"
    assert body["thread_id"] == thread_id_for("s-transcript")
    assert body["title"] == "What's the weather in Miami?"
    assert body["turn_count"] == 3
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"] * 3
    assert [m["turn"] for m in messages] == [1] * 4 + [2] * 4 + [3] * 4
    call = messages[1]["tool_calls"][0]
    assert call["name"] == "get_weather" and call["args"] == {"city": "Miami"}
    result = messages[2]
    assert result["tool_call_id"] == call["id"] and result["name"] == "get_weather"
    assert result["status"] == "success" and "Miami" in result["output"]
    failed = messages[10]
    assert failed["status"] == "error" and failed["error"]
    assert messages[11]["text"] == "We have no dealership in Paris."
    times = [m["created_at"] for m in messages]
    assert all(times) and times == sorted(times)
    # Serialized from plain data, the body is byte for byte what the documented model gives.
    assert (
        response.content
        == SessionDetail.model_validate_json(response.content).model_dump_json().encode()
    )


@on_every_engine
def test_sessions_list_newest_first_with_a_cursor(lex_url: str) -> None:
    for n in range(3):
        post_query(lex_url, f"Hello number {n}", f"s-list-{n}")
    post_query(lex_url, "Back again", "s-list-0")

    first = httpx.get(
        f"{lex_url}/sessions", params={"limit": 2}, headers=OPERATOR, timeout=10
    ).json()
    assert [s["session_id"] for s in first["sessions"]] == ["s-list-0", "s-list-2"]
    assert first["sessions"][0]["title"] == "Hello number 0"
    assert first["sessions"][0]["turn_count"] == 2
    second = httpx.get(
        f"{lex_url}/sessions",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=OPERATOR,
        timeout=10,
    ).json()
    assert [s["session_id"] for s in second["sessions"]] == ["s-list-1"]
    assert second["next_cursor"] is None

    bad = httpx.get(
        f"{lex_url}/sessions", params={"cursor": "garbage"}, headers=OPERATOR, timeout=10
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


@on_every_engine
def test_checkpoints_are_listed_oldest_first_with_fork_points(lex_server: ServerFactory) -> None:
    with lex_server(chat_model=scripted_model()) as base_url:
        scripted_session(base_url, "s-checkpoints")
        response = httpx.get(
            f"{base_url}/sessions/s-checkpoints/checkpoints", headers=OPERATOR, timeout=10
        )

    assert response.status_code == 200
    checkpoints = response.json()
    ids = [c["checkpoint_id"] for c in checkpoints]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert checkpoints[0]["parent_checkpoint_id"] is None
    for parent, child in itertools.pairwise(checkpoints):
        assert child["parent_checkpoint_id"] == parent["checkpoint_id"]
        assert child["created_at"] >= parent["created_at"]
    # Each turn: input (step -1 for the first), model, tools, model; `next` empty at its end.
    turn_ends = [c for c in checkpoints if not c["next"]]
    assert [c["message_count"] for c in turn_ends] == [4, 8, 12]
    assert {c["source"] for c in checkpoints} == {"input", "loop"}
    assert checkpoints[0]["step"] == -1 and checkpoints[0]["next"] == ["__start__"]
    assert any(c["next"] == ["tools"] for c in checkpoints)


@on_every_engine
def test_delete_removes_history_and_entry_then_404(
    lex_server: ServerFactory, database_url: str
) -> None:
    with lex_server() as base_url:
        post_query(base_url, "What's the weather in Miami?", "s-delete")
        post_query(base_url, "hello", "s-other")
        deleted = httpx.delete(f"{base_url}/sessions/s-delete", headers=OPERATOR, timeout=10)
        after = [
            httpx.get(
                f"{base_url}/sessions/s-delete{suffix}", headers=OPERATOR, timeout=10
            ).status_code
            for suffix in ("", "/replay", "/checkpoints")
        ]
        again = httpx.delete(f"{base_url}/sessions/s-delete", headers=OPERATOR, timeout=10)
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR, timeout=10).json()
        other = httpx.get(f"{base_url}/sessions/s-other", headers=OPERATOR, timeout=10)

    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": True, "session_id": "s-delete"}
    assert after == [404, 404, 404]
    assert again.status_code == 404
    assert [s["session_id"] for s in listed["sessions"]] == ["s-other"]
    assert other.status_code == 200 and len(other.json()["messages"]) == 2
    assert checkpoint_count(database_url, thread_id_for("s-other")) > 0
    assert checkpoint_count(database_url, thread_id_for("s-delete")) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sessions/nobody"),
        ("GET", "/sessions/nobody/replay"),
        ("GET", "/sessions/nobody/checkpoints"),
        ("DELETE", "/sessions/nobody"),
    ],
)
def test_unknown_sessions_are_404(lex_url: str, method: str, path: str) -> None:
    response = httpx.request(method, f"{lex_url}{path}", headers=OPERATOR, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_replay_paces_its_events_when_asked(lex_server: ServerFactory) -> None:
    with lex_server(chat_model=ScriptedChatModel(script=[text("Hello there!")])) as base_url:
        post_query(base_url, "hi", "s-pace")
        started = time.perf_counter()
        response = httpx.get(
            f"{base_url}/sessions/s-pace/replay",
            params={"pace_ms": 100},
            headers=OPERATOR,
            timeout=10,
        )
        elapsed = time.perf_counter() - started
    names = [event.event for event in parse_sse(response.text)]
    assert names == ["turn", "chunk", "end"]
    assert elapsed >= 0.2  # a pause before each event after the first


@pytest.fixture
async def saver(database_url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    async with open_database(database_url) as storage:
        yield storage.checkpointer


async def ask(
    graph: CompiledStateGraph[Any, Any, Any, Any], query: str, config: RunnableConfig
) -> list[str]:
    state = await graph.ainvoke({"messages": [HumanMessage(query)]}, config)
    return [message.text for message in state["messages"]]


@on_every_engine
async def test_a_fork_continues_differently_and_the_original_branch_stays(
    saver: BaseCheckpointSaver[Any],
) -> None:
    model = ScriptedChatModel(
        script=[text("Hi! Fancy a test drive?"), text("The GT it is."), text("The Volt it is.")]
    )
    graph = compile_graph(model, [], checkpointer=saver)
    thread = thread_config(thread_id_for("s-fork"))
    await ask(graph, "hello", thread)
    await ask(graph, "I like the GT", thread)
    before = await read_history(graph, thread_id_for("s-fork"), 100)
    first_turn_end = next(
        info for info in checkpoint_infos(before) if not info.next and info.message_count == 2
    )

    config = await fork_config(graph, "s-fork", first_turn_end.checkpoint_id)
    assert config == {
        "configurable": {
            "thread_id": thread_id_for("s-fork"),
            "checkpoint_id": first_turn_end.checkpoint_id,
        }
    }
    forked = await ask(graph, "Actually, the Volt", config)

    assert forked == ["hello", "Hi! Fancy a test drive?", "Actually, the Volt", "The Volt it is."]
    head = await read_head(graph, thread_id_for("s-fork"))
    assert head is not None
    assert [m.text for m in snapshot_messages(head)] == forked  # the fork is the new head
    after = await read_history(graph, thread_id_for("s-fork"), 100)
    before_ids = {info.checkpoint_id for info in checkpoint_infos(before)}
    assert before_ids < {info.checkpoint_id for info in checkpoint_infos(after)}
    old_head = next(
        s for s in after if checkpoint_id_of(s.config) == checkpoint_id_of(before[0].config)
    )
    assert [m.text for m in snapshot_messages(old_head)][-1] == "The GT it is."
    branch = head_branch(after)
    assert checkpoint_id_of(branch[0].config) == checkpoint_id_of(before[-1].config)
    assert first_turn_end.checkpoint_id in {checkpoint_id_of(s.config) for s in branch}
    assert checkpoint_id_of(before[0].config) not in {checkpoint_id_of(s.config) for s in branch}


@on_every_engine
async def test_fork_points_are_checked(saver: BaseCheckpointSaver[Any]) -> None:
    model = ScriptedChatModel(
        script=[calls(("get_weather", {"city": "Miami"})), text("Sunny!"), text("Hello")]
    )
    tools = build_tools(ToolServices(appointments=InMemoryAppointmentBook()))
    graph = compile_graph(model, tools, checkpointer=saver)
    await ask(graph, "weather in Miami", thread_config(thread_id_for("s-1")))
    await ask(graph, "hi", thread_config(thread_id_for("s-2")))
    infos = checkpoint_infos(await read_history(graph, thread_id_for("s-1"), 100))
    mid_turn = next(info for info in infos if info.next == ["tools"])
    turn_end = infos[-1]

    with pytest.raises(ApiError) as not_found:
        await fork_config(graph, "s-2", turn_end.checkpoint_id)  # another session's checkpoint
    assert (not_found.value.status_code, not_found.value.code) == (404, "not_found")
    with pytest.raises(ApiError) as unknown:
        await fork_config(graph, "s-1", "1f000000-0000-6000-8000-000000000000")
    assert unknown.value.status_code == 404
    with pytest.raises(ApiError) as mid:
        await fork_config(graph, "s-1", mid_turn.checkpoint_id)
    assert (mid.value.status_code, mid.value.code) == (422, "checkpoint_not_forkable")
    with pytest.raises(ApiError) as malformed:
        await fork_config(graph, "s-1", "latest")
    assert (malformed.value.status_code, malformed.value.code) == (422, "invalid_request")


def test_a_session_saved_before_the_registry_still_opens_by_id(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    with lex_server() as base_url:
        post_query(base_url, "What's the weather in Miami?", "s-legacy")
        with sqlite3.connect(tmp_path / "lex.sqlite") as db:
            db.execute("DELETE FROM sessions")  # as if saved before the registry existed
        detail = httpx.get(f"{base_url}/sessions/s-legacy", headers=OPERATOR, timeout=10)
        replay = httpx.get(f"{base_url}/sessions/s-legacy/replay", headers=OPERATOR, timeout=10)
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR, timeout=10).json()
        deleted = httpx.delete(f"{base_url}/sessions/s-legacy", headers=OPERATOR, timeout=10)
        gone = httpx.get(f"{base_url}/sessions/s-legacy", headers=OPERATOR, timeout=10)

    assert detail.status_code == 200
    body = detail.json()
    assert body["title"] == "What's the weather in Miami?" and body["turn_count"] == 1
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert [e.event for e in parse_sse(replay.text)][:3] == ["turn", "tool_use", "tool_output"]
    assert listed["sessions"] == []
    assert deleted.status_code == 200 and gone.status_code == 404


@on_every_engine
def test_post_query_with_checkpoint_id_forks_the_session(lex_server: ServerFactory) -> None:
    model = ScriptedChatModel(script=[text("Hello Ada."), text("Blue it is."), text("Red it is.")])
    with lex_server(chat_model=model) as base_url:
        for query in ("I am Ada", "I like blue"):
            httpx.post(
                f"{base_url}/query",
                json={"query": query, "session_id": "s-fork"},
                headers=OPERATOR,
                timeout=30,
            )
        checkpoints = httpx.get(
            f"{base_url}/sessions/s-fork/checkpoints", headers=OPERATOR, timeout=10
        ).json()
        end_of_first = next(c for c in checkpoints if not c["next"] and c["message_count"] == 2)
        forked = httpx.post(
            f"{base_url}/query",
            json={
                "query": "I like red",
                "session_id": "s-fork",
                "checkpoint_id": end_of_first["checkpoint_id"],
            },
            headers=OPERATOR,
            timeout=30,
        )
        other = httpx.post(
            f"{base_url}/query",
            json={
                "query": "x",
                "session_id": "s-other",
                "checkpoint_id": end_of_first["checkpoint_id"],
            },
            headers=OPERATOR,
            timeout=30,
        )
        transcript = httpx.get(f"{base_url}/sessions/s-fork", headers=OPERATOR, timeout=10).json()
        after = httpx.get(
            f"{base_url}/sessions/s-fork/checkpoints", headers=OPERATOR, timeout=10
        ).json()

    assert "Red it is." in "".join(e.data for e in parse_sse(forked.text) if e.event == "chunk")
    assert [m.text for m in model.received[-1][1:]] == ["I am Ada", "Hello Ada.", "I like red"]
    texts = [m["text"] for m in transcript["messages"]]
    assert texts == ["I am Ada", "Hello Ada.", "I like red", "Red it is."]
    assert {c["checkpoint_id"] for c in checkpoints} < {c["checkpoint_id"] for c in after}
    assert other.status_code == 404


def test_transcript_reads_only_the_head_when_messages_carry_their_time(
    lex_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_history(*_: object, **__: object) -> list[object]:
        raise AssertionError("the transcript replayed every checkpoint")

    monkeypatch.setattr(sessions_routes, "read_history", no_history)
    with lex_server() as base_url:
        httpx.post(
            f"{base_url}/query",
            json={"query": "What's the weather in Miami?", "session_id": "s-head"},
            headers=OPERATOR,
            timeout=30,
        )
        transcript = httpx.get(f"{base_url}/sessions/s-head", headers=OPERATOR, timeout=10)
    assert transcript.status_code == 200
    messages = transcript.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert all(m["created_at"] for m in messages)
