"""A server that stops mid-answer (a deploy, a restart) still ends every open stream with `end`.

Real processes and a real SIGTERM: sse-starlette notices the shutdown from uvicorn's signal
handling, which a server run in a test thread does not have.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from agent.repair import INTERRUPTED_TOOL_RESULT
from tests.support.app_server import OPERATOR
from tests.support.lex_process import spawn
from tests.support.sse import parse_like_frontend

FRONTEND_HEADERS = {"Content-Type": "application/json", "Accept": "text/event-stream"}


def settings_for(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lex.sqlite'}",
        "OFFLINE_TOKEN_DELAY_S": "0.2",
        "SHUTDOWN_GRACE_S": "0.5",
    }


def test_a_restart_mid_answer_ends_the_stream_and_the_session_goes_on(tmp_path: Path) -> None:
    server = spawn("first", tmp_path, settings_for(tmp_path))
    try:
        server.wait_healthy()
        body = {"query": "What is the weather in Miami?", "session_id": "premium_client-17"}
        lines: list[str] = []
        with httpx.stream(
            "POST", f"{server.url}/query", json=body, headers=FRONTEND_HEADERS, timeout=30
        ) as response:
            assert response.status_code == 200
            stream = response.iter_lines()
            for line in stream:
                lines.append(line)
                if sum(1 for seen in lines if seen.startswith("event: chunk")) >= 2:
                    break
            server.process.terminate()
            cut_at = time.monotonic()
            lines.extend(stream)
        waited = time.monotonic() - cut_at
    finally:
        server.stop()

    messages = parse_like_frontend("\n".join(lines))
    assert [m.event for m in messages][-1] == "end"
    assert messages[-1].data == ""
    text = "".join(m.data for m in messages if m.event == "chunk")
    assert "restarting" in text
    assert waited < 5  # the grace, not the whole answer

    again = spawn("second", tmp_path, settings_for(tmp_path))
    try:
        again.wait_healthy()
        body = {
            "query": "And the address of the Miami dealership?",
            "session_id": "premium_client-17",
        }
        reply = httpx.post(f"{again.url}/query", json=body, headers=FRONTEND_HEADERS, timeout=30)
    finally:
        again.stop()
    after = parse_like_frontend(reply.text)
    assert [m.event for m in after][-1] == "end"
    assert "Biscayne" in "".join(m.data for m in after)


def test_a_crash_mid_tool_call_on_sqlite_leaves_a_session_the_next_process_continues(
    tmp_path: Path,
) -> None:
    """SIGKILL (no shutdown at all) while a tool runs: the restarted service closes the call."""
    settings = {**settings_for(tmp_path), "SIMULATED_WEATHER_DELAY_S": "30"}
    session = "premium_client-18"
    weather = "What is the weather in Miami?"
    victim = spawn("victim", tmp_path, settings)
    try:
        victim.wait_healthy()
        body = {"query": weather, "session_id": session, "stream_format": "json"}
        with httpx.stream(
            "POST", f"{victim.url}/query", json=body, headers=OPERATOR, timeout=30
        ) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("event:"))
            assert first == "event: tool_use", first
            deadline = time.monotonic() + 10
            while not saved_tool_calls(victim.url, session):  # checkpoints are written async
                assert time.monotonic() < deadline, "the tool call was never saved"
                time.sleep(0.05)
            victim.kill()
    finally:
        victim.stop()

    again = spawn("restarted", tmp_path, {**settings, "SIMULATED_WEATHER_DELAY_S": "0"})
    try:
        again.wait_healthy()
        address = "And the address of the Miami dealership?"
        reply = httpx.post(
            f"{again.url}/query",
            json={"query": address, "session_id": session},
            headers={**FRONTEND_HEADERS, **OPERATOR},
            timeout=30,
        )
        messages = httpx.get(
            f"{again.url}/sessions/{session}", headers=OPERATOR, timeout=10
        ).json()["messages"]
    finally:
        again.stop()

    after = parse_like_frontend(reply.text)
    assert [m.event for m in after][-1] == "end"
    assert "Biscayne" in "".join(m.data for m in after if m.event == "chunk")
    assert [m["text"] for m in messages if m["role"] == "user"] == [weather, address]
    asked = {c["id"] for m in messages if m["role"] == "assistant" for c in m["tool_calls"]}
    answered = {m["tool_call_id"] for m in messages if m["role"] == "tool"}
    assert asked == answered  # the interrupted call was closed, not left dangling
    closed = next(m for m in messages if m["role"] == "tool")
    assert closed["status"] == "error" and closed["text"] == INTERRUPTED_TOOL_RESULT


def saved_tool_calls(url: str, session_id: str) -> list[dict[str, object]]:
    response = httpx.get(f"{url}/sessions/{session_id}", headers=OPERATOR, timeout=10)
    if response.status_code != 200:
        return []
    return [
        c for m in response.json()["messages"] if m["role"] == "assistant" for c in m["tool_calls"]
    ]
