"""`langgraph dev` inside the suite: it loads the graph, runs it offline, and opens saved sessions.

The dev server is started from the project's `langgraph.json` (its paths made absolute, its `env`
pinned to the offline model so a developer's `.env` cannot send the suite to Groq) on a free
loopback port, and its whole process group is killed at the end.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from api.cli.main import main
from api.cli.studio import GRAPH_ID, OFFLINE_DEV_ENV, dev_server_command, dev_server_ready
from checkpoints.saver import thread_id_for
from checkpoints.studio import STUDIO_DATABASE_ENV
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 45.0
OFFLINE_ENV = {"MODEL_PROVIDER": "offline", "GROQ_API_KEY": "", "WEATHER_PROVIDER": "simulated"}


def absolute(spec: str) -> str:
    """`./api/studio.py:make_graph` -> `<root>/api/studio.py:make_graph`."""
    path, _, attribute = spec.partition(":")
    return f"{(ROOT / path).resolve()}:{attribute}"


def offline_config(folder: Path) -> Path:
    """The project's langgraph.json, usable from `folder`, with the offline model pinned."""
    config: dict[str, Any] = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(ROOT)]
    config["graphs"] = {name: absolute(spec) for name, spec in config["graphs"].items()}
    config["checkpointer"]["path"] = absolute(config["checkpointer"]["path"])
    config["env"] = OFFLINE_ENV
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def stop_group(process: subprocess.Popen[Any]) -> None:
    """Kills a process started in its own session, with everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class DevServer:
    """A running `langgraph dev` and the Studio copy it reads."""

    def __init__(self, url: str, studio_database: Path) -> None:
        self.url = url
        self.studio_database = studio_database


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    folder = tmp_path_factory.mktemp("langgraph-dev")
    studio_database = folder / "lex-studio.sqlite"
    url = f"http://127.0.0.1:{free_port()}"
    environ = {
        **os.environ,
        **OFFLINE_DEV_ENV,
        STUDIO_DATABASE_ENV: sqlite_url(studio_database),
    }
    log = (folder / "langgraph-dev.log").open("wb")
    process = subprocess.Popen(
        dev_server_command(offline_config(folder), url),
        cwd=folder,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not dev_server_ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (folder / "langgraph-dev.log").read_text(errors="replace")
                pytest.fail(f"langgraph dev did not start:\n{output[-3000:]}")
            time.sleep(0.2)
        yield DevServer(url, studio_database)
    finally:
        stop_group(process)
        log.close()


def user_message(text: str) -> dict[str, Any]:
    """The input of a run: one user message."""
    return {"messages": [{"role": "user", "content": text}]}


def message_texts(values: Any) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in values["messages"]]


def test_langgraph_dev_loads_the_graph_and_runs_a_tool_offline(dev_server: DevServer) -> None:
    client = get_sync_client(url=dev_server.url)
    assistants = client.assistants.search(graph_id=GRAPH_ID)
    assert [assistant["graph_id"] for assistant in assistants] == [GRAPH_ID]

    thread = client.threads.create(graph_id=GRAPH_ID)
    result: Any = client.runs.wait(
        thread["thread_id"],
        GRAPH_ID,
        input=user_message("What's the weather in Seattle?"),
        context={"user_id": "studio-user"},
    )

    kinds = [m["type"] for m in result["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"]
    tool_result = result["messages"][2]
    assert tool_result["name"] == "get_weather" and tool_result["status"] == "success"
    assert "Seattle" in result["messages"][-1]["content"]
    # The run was saved by the project's checkpointer, in the Studio copy.
    with sqlite3.connect(dev_server.studio_database) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread["thread_id"],)
        ).fetchone()
    assert count >= 4


def save_session(lex_server: ServerFactory, session_id: str) -> dict[str, Any]:
    """Two turns through the app; returns its transcript (the app is stopped afterwards)."""
    with lex_server() as base_url:
        for query in ("What's the weather in Miami?", "What's the address of SuperCar Miami?"):
            body = {"query": query, "session_id": session_id}
            assert (
                httpx.post(f"{base_url}/query", headers=OPERATOR, json=body, timeout=30).status_code
                == 200
            )
        transcript: dict[str, Any] = httpx.get(
            f"{base_url}/sessions/{session_id}", headers=OPERATOR
        ).json()
    return transcript


def test_a_session_saved_by_the_app_opens_through_the_dev_server(
    dev_server: DevServer,
    lex_server: ServerFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    transcript = save_session(lex_server, "s-studio")
    monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path / "lex.sqlite"))
    monkeypatch.setenv(STUDIO_DATABASE_ENV, sqlite_url(dev_server.studio_database))

    assert main(["studio", "s-studio", "--dev-url", dev_server.url]) == 0

    thread_id = thread_id_for("s-studio")
    printed = capsys.readouterr().out
    assert f"Studio: https://smith.langchain.com/studio/thread/{thread_id}?baseUrl=" in printed
    client = get_sync_client(url=dev_server.url)
    state: Any = client.threads.get_state(thread_id)
    saved = [(m["role"], m["text"]) for m in transcript["messages"]]
    expected_types = {"user": "human", "assistant": "ai", "tool": "tool"}
    assert [(expected_types[role], text) for role, text in saved] == message_texts(state["values"])
    assert state["next"] == []
    history = client.threads.get_history(thread_id, limit=100)
    assert len(history) == len(app_checkpoints(tmp_path))

    # Studio can go on from there: the thread continues with the saved conversation.
    result: Any = client.runs.wait(
        thread_id,
        GRAPH_ID,
        input=user_message("And the weather in Dallas?"),
    )
    assert message_texts(result)[: len(saved)] == message_texts(state["values"])
    assert [m["type"] for m in result["messages"][len(saved) :]] == ["human", "ai", "tool", "ai"]


def app_checkpoints(folder: Path) -> list[tuple[str]]:
    """The checkpoints of the app's database for s-studio."""
    with sqlite3.connect(folder / "lex.sqlite") as db:
        rows: list[tuple[str]] = db.execute(
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ?",
            (thread_id_for("s-studio"),),
        ).fetchall()
    return rows


def read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))


def test_lex_studio_starts_langgraph_dev_and_prints_the_studio_url(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    save_session(lex_server, "s-auto")
    dev_url = f"http://127.0.0.1:{free_port()}"
    work = tmp_path / "work"
    work.mkdir()
    environ = {
        **os.environ,
        "DATABASE_URL": sqlite_url(tmp_path / "lex.sqlite"),
        STUDIO_DATABASE_ENV: sqlite_url(tmp_path / "studio" / "lex-studio.sqlite"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "api.cli.main", "studio", "s-auto", "--dev-url", dev_url]
    command += ["--config", str(offline_config(work))]
    process = subprocess.Popen(
        command,
        cwd=work,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process, lines), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not any(line.startswith("Studio: ") for line in seen):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("lex studio printed no Studio URL:\n" + "\n".join(seen))
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                continue
        thread_id = thread_id_for("s-auto")
        state: Any = get_sync_client(url=dev_url).threads.get_state(thread_id)
        assert len(state["values"]["messages"]) == 8
        assert process.poll() is None  # it keeps serving until stopped
    finally:
        stop_group(process)
    assert (tmp_path / "studio" / "lex-studio.sqlite").is_file()
    assert not dev_server_ready(dev_url)  # stopping lex studio stopped its dev server
    url_line = next(line for line in seen if line.startswith("Studio: "))
    assert url_line.startswith(f"Studio: https://smith.langchain.com/studio/thread/{thread_id}")
