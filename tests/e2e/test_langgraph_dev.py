"""`langgraph dev` inside the suite: it loads the graph, runs it offline, and opens saved sessions.

The dev server is started from the project's `langgraph.json` (its paths made absolute, its `env`
pinned to the offline model so a developer's `.env` cannot send the suite to Groq) on a free
loopback port, and its whole process group is killed at the end. `lex studio` runs as the operator
runs it, in a process of its own, stopped with the signals a terminal sends.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from langgraph_sdk import get_sync_client

from api.cli.studio import GRAPH_ID
from api.cli.studio_server import DEFAULT_STUDIO_URL, OFFLINE_DEV_ENV, dev_server_command
from api.cli.studio_server import answers as dev_server_ready
from checkpoints.saver import thread_id_for
from checkpoints.studio import STUDIO_COPY_ENV
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.live_server import free_port
from tests.support.signals import default_ctrl_c
from tests.support.storage import POSTGRES, checkpoint_count

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 45.0
OFFLINE_ENV = {"MODEL_PROVIDER": "offline", "GROQ_API_KEY": "", "WEATHER_PROVIDER": "simulated"}
FOREIGN = "https://evil.example"
TURNS = ("What's the weather in Miami?", "Book the GT at Miami on 2026-11-26 at 10:00")


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
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = {**os.environ, **OFFLINE_DEV_ENV, STUDIO_COPY_ENV: str(studio_database)}
    log = (folder / "langgraph-dev.log").open("wb")
    process = subprocess.Popen(
        dev_server_command(offline_config(folder), port),
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


def allowed_origins(url: str, origin: str) -> tuple[str | None, str | None]:
    """`Access-Control-Allow-Origin` of a preflight and of a GET sent from `origin`."""
    preflight = httpx.options(
        f"{url}/threads/search",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    get = httpx.get(f"{url}/ok", headers={"Origin": origin})
    return (
        preflight.headers.get("access-control-allow-origin"),
        get.headers.get("access-control-allow-origin"),
    )


def test_the_dev_server_answers_cross_origin_requests_from_studio_only(
    dev_server: DevServer,
) -> None:
    assert allowed_origins(dev_server.url, FOREIGN) == (None, None)
    assert allowed_origins(dev_server.url, DEFAULT_STUDIO_URL) == (DEFAULT_STUDIO_URL,) * 2


def save_sessions(lex_server: ServerFactory) -> dict[str, Any]:
    """The asked session (two turns, one booking) and another one; returns the asked transcript."""
    with lex_server() as base_url:
        for query, session_id in [*((q, "s-asked") for q in TURNS), ("Hello", "s-other")]:
            body = {"query": query, "session_id": session_id}
            response = httpx.post(f"{base_url}/query", headers=OPERATOR, json=body, timeout=30)
            assert response.status_code == 200
        transcript: dict[str, Any] = httpx.get(
            f"{base_url}/sessions/s-asked", headers=OPERATOR
        ).json()
    return transcript


def read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))


class LexStudio:
    """`lex studio` running in its own process group, its output read line by line."""

    def __init__(self, argv: list[str], work: Path, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "studio", *argv],
            cwd=work,
            env={**environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=default_ctrl_c,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=read_lines, args=(self.process, self.lines), daemon=True).start()

    def wait_for(self, prefix: str) -> str:
        """The first printed line starting with `prefix`."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            for line in self.seen:
                if line.startswith(prefix):
                    return line
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.drain()
                pytest.fail(f"lex studio printed no {prefix!r}:\n" + "\n".join(self.seen))
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                continue

    def drain(self) -> None:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())

    def dev_url(self) -> str:
        """The dev server's URL, from the printed Studio link."""
        link = self.wait_for("Studio: ").removeprefix("Studio: ")
        (base_url,) = parse_qs(urlsplit(link).query)["baseUrl"]
        return base_url

    def stop(self, signum: int) -> int:
        """Sends `signum` to `lex studio` alone; returns its exit code."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=30)
        finally:
            stop_group(self.process)
            time.sleep(0.2)
            self.drain()


def only_folder(root: Path) -> Path:
    (folder,) = root.glob("lex-studio-*")
    return folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def copied_threads_and_tables(database: Path) -> tuple[set[str], set[str]]:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        threads = {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
        threads |= {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM writes")}
    return threads, tables


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (Linux /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, port_hex = local.partition(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1])))
                else:
                    words = [bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8)]
                    found.add(str(ipaddress.IPv6Address(b"".join(words))))
    return found


def message_pairs(transcript: dict[str, Any]) -> list[tuple[str, str]]:
    expected_types = {"user": "human", "assistant": "ai", "tool": "tool"}
    return [(expected_types[m["role"]], m["text"]) for m in transcript["messages"]]


def studio_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    (tmp_path / "tmp").mkdir()
    return {**os.environ, "DATABASE_URL": database_url, "TMPDIR": str(tmp_path / "tmp")}


def test_lex_studio_serves_the_asked_session_alone_and_deletes_it_on_ctrl_c(
    lex_server: ServerFactory, tmp_path: Path
) -> None:
    transcript = save_sessions(lex_server)
    app_database = tmp_path / "lex.sqlite"
    with closing(sqlite3.connect(app_database)) as db:
        assert db.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 1
    app_checkpoints = checkpoint_count(sqlite_url(app_database), thread_id_for("s-asked"))
    work = tmp_path / "work"
    work.mkdir()
    environ = studio_environment(tmp_path, sqlite_url(app_database))
    studio = LexStudio(["s-asked", "--config", str(offline_config(work))], work, environ)
    try:
        dev_url = studio.dev_url()
        thread_id = thread_id_for("s-asked")

        # The copy: this session's thread alone, owner-only, in an owner-only folder.
        folder = only_folder(tmp_path / "tmp")
        copies = sorted(folder.glob("session.sqlite*"))
        assert mode(folder) == 0o700
        assert copies and {mode(copy) for copy in copies} == {0o600}
        threads, tables = copied_threads_and_tables(folder / "session.sqlite")
        assert threads == {thread_id}
        assert tables == {"checkpoints", "writes"}

        # The dev server: loopback only, Studio's origin only, the whole session readable.
        assert listening_addresses(urlsplit(dev_url).port or 0) == {"127.0.0.1"}
        assert allowed_origins(dev_url, FOREIGN) == (None, None)
        assert allowed_origins(dev_url, DEFAULT_STUDIO_URL) == (DEFAULT_STUDIO_URL,) * 2
        client = get_sync_client(url=dev_url)
        state: Any = client.threads.get_state(thread_id)
        assert message_texts(state["values"]) == message_pairs(transcript)
        assert state["next"] == []
        assert len(client.threads.get_history(thread_id, limit=100)) == app_checkpoints

        # A run in Studio goes on from the saved conversation, into the copy only.
        result: Any = client.runs.wait(
            thread_id, GRAPH_ID, input=user_message("And the weather in Dallas?")
        )
        assert message_texts(result)[: len(transcript["messages"])] == message_pairs(transcript)
        assert checkpoint_count(sqlite_url(app_database), thread_id) == app_checkpoints
    finally:
        code = studio.stop(signal.SIGINT)
    assert code == 0, "\n".join(studio.seen)
    assert list((tmp_path / "tmp").iterdir()) == []  # the copy and its folder are gone
    assert [p.name for p in work.iterdir()] == ["langgraph.json"]  # nothing left where it ran
    assert not dev_server_ready(dev_url)


@pytest.mark.parametrize("database_url", [POSTGRES], indirect=True)
def test_lex_studio_opens_a_session_saved_in_postgres_and_cleans_up_on_sigterm(
    lex_server: ServerFactory, database_url: str, tmp_path: Path
) -> None:
    transcript = save_sessions(lex_server)
    work = tmp_path / "work"
    work.mkdir()
    studio_url = "https://studio.example.test"
    argv = ["s-asked", "--config", str(offline_config(work)), "--studio-url", studio_url]
    studio = LexStudio(argv, work, studio_environment(tmp_path, database_url))
    try:
        dev_url = studio.dev_url()
        thread_id = thread_id_for("s-asked")
        threads, _ = copied_threads_and_tables(only_folder(tmp_path / "tmp") / "session.sqlite")
        assert threads == {thread_id}
        assert allowed_origins(dev_url, studio_url) == (studio_url,) * 2
        assert allowed_origins(dev_url, DEFAULT_STUDIO_URL) == (None, None)
        state: Any = get_sync_client(url=dev_url).threads.get_state(thread_id)
        assert message_texts(state["values"]) == message_pairs(transcript)
    finally:
        code = studio.stop(signal.SIGTERM)
    assert code == 0, "\n".join(studio.seen)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not dev_server_ready(dev_url)
