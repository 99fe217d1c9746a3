"""A server that stops mid-answer (a deploy, a restart) still ends every open stream with `end`.

Real processes and a real SIGTERM: sse-starlette notices the shutdown from uvicorn's signal
handling, which a server run in a test thread does not have.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

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
