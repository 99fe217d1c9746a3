"""`lex studio` before and around its dev server: the private copy of one session, and cleanup.

The copy is read from a database the real app wrote (SQLite or Postgres); the dev server itself
runs in `tests/e2e/test_langgraph_dev.py`.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.cli.common import CliError
from api.cli.main import main
from api.cli.studio import PROJECT_ROOT, choose_port, stop_signals_interrupt, studio_thread_url
from api.cli.studio_copy import (
    OWNER_FILE,
    copy_session,
    make_private_folder,
    remove_folder,
    sweep_abandoned,
)
from api.cli.studio_server import (
    DEFAULT_STUDIO_URL,
    LOOPBACK,
    check_origins,
    cors_config,
    dev_server_command,
    dev_server_environment,
    port_taken,
    studio_origin,
    write_served_config,
)
from checkpoints.saver import open_checkpointer, thread_id_for
from tests.checkpoints.test_head_cache import build
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.live_server import free_port, serve
from tests.support.storage import on_every_engine

TURNS = ("What's the weather in Miami?", "Book the GT at Miami on 2026-11-26 at 10:00")


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory `lex studio` makes its folder in, empty, for this test alone."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def send(base_url: str, query: str, session_id: str, **headers: str) -> None:
    body = {"query": query, "session_id": session_id}
    response = httpx.post(f"{base_url}/query", json=body, headers=headers, timeout=30)
    assert response.status_code == 200


def save_sessions(lex_server: ServerFactory) -> tuple[list[tuple[str, str]], str]:
    """s-asked (two turns, a booking), s-other, and a chat page's session bound to its client.

    Returns:
        The asked session's messages (role, text), and the key the bound session is listed under.
    """
    with lex_server() as base_url:
        for query in TURNS:
            send(base_url, query, "s-asked", **OPERATOR)
        send(base_url, "Hello", "s-other", **OPERATOR)
        send(base_url, "Where is SuperCar Dallas?", "premium_client-1732470000000")
        transcript = httpx.get(f"{base_url}/sessions/s-asked", headers=OPERATOR).json()
        listed = httpx.get(f"{base_url}/sessions", headers=OPERATOR).json()["sessions"]
    (bound_key,) = [s["session_id"] for s in listed if s["session_id"].startswith("b-")]
    return [(m["role"], m["text"]) for m in transcript["messages"]], bound_key


def roles_and_texts(messages: list[Any]) -> list[tuple[str, str]]:
    roles = {"human": "user", "ai": "assistant", "tool": "tool"}
    return [(roles[m.type], m.text) for m in messages]


def tables_and_threads(database: Path) -> tuple[set[str], set[str]]:
    with closing(sqlite3.connect(database)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        threads = {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
        threads |= {row[0] for row in db.execute("SELECT DISTINCT thread_id FROM writes")}
    return tables, threads


def studio_folders(root: Path) -> list[Path]:
    """The folders `lex studio` made under `root` and left there."""
    return sorted(root.glob("lex-studio-*"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@on_every_engine
async def test_the_copy_holds_the_asked_session_alone_owner_only(
    lex_server: ServerFactory, database_url: str, temp_root: Path
) -> None:
    messages, _ = save_sessions(lex_server)
    folder = make_private_folder()

    copy = await copy_session(database_url, "s-asked", folder)

    assert (copy.thread_id, copy.title) == (thread_id_for("s-asked"), TURNS[0])
    assert mode(folder) == 0o700 and mode(copy.path) == 0o600
    tables, threads = tables_and_threads(copy.path)
    assert threads == {copy.thread_id}  # not s-other's, not the chat page's
    assert tables == {"checkpoints", "writes"}  # no session list, no appointments
    async with open_checkpointer(copy.path) as saver:
        state = await build(saver).aget_state({"configurable": {"thread_id": copy.thread_id}})
    assert roles_and_texts(state.values["messages"]) == messages
    assert state.config["configurable"]["checkpoint_id"] == copy.head
    remove_folder(folder)
    assert studio_folders(temp_root) == []


async def test_a_chat_page_session_opens_by_the_key_lex_sessions_lists(
    lex_server: ServerFactory, database_url: str, temp_root: Path
) -> None:
    _, bound_key = save_sessions(lex_server)
    folder = make_private_folder()

    copy = await copy_session(database_url, bound_key, folder)

    assert copy.title == "Where is SuperCar Dallas?"
    assert tables_and_threads(copy.path)[1] == {copy.thread_id}
    with pytest.raises(CliError, match="no saved session 'premium_client-1732470000000'"):
        # The id the page sent is not the key: its history is bound to the page's client.
        await copy_session(database_url, "premium_client-1732470000000", folder)


def test_an_unknown_session_or_database_fails_in_one_line_and_leaves_nothing(
    lex_server: ServerFactory,
    tmp_path: Path,
    temp_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_sessions(lex_server)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'lex.sqlite'}")
    assert main(["studio", "nobody"], io.StringIO()) == 1
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    assert main(["studio", "s-asked"], io.StringIO()) == 1

    assert capsys.readouterr().err.splitlines() == [
        "lex: no saved session 'nobody' (lex sessions lists them)",
        f"lex: no database at {tmp_path / 'missing.sqlite'} (DATABASE_URL); "
        "has Lex saved anything yet?",
    ]
    assert studio_folders(temp_root) == [] and list(work.iterdir()) == []
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_dev_server_that_fails_to_start_leaves_nothing_behind(
    lex_server: ServerFactory,
    tmp_path: Path,
    temp_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_sessions(lex_server)
    work = tmp_path / "work"
    work.mkdir()
    broken = tmp_path / "broken" / "langgraph.json"
    broken.parent.mkdir()
    broken.write_text(json.dumps({"python_version": "3.9", "graphs": {"lex": "./g.py:g"}}))
    monkeypatch.chdir(work)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'lex.sqlite'}")
    out = io.StringIO()

    assert main(["studio", "s-asked", "--config", str(broken)], out) == 1

    error = capsys.readouterr().err
    assert "lex: langgraph dev exited with code 2" in error
    assert "Python version 3.9 is not supported" in error  # the end of its log, deleted since
    assert "Stopped langgraph dev." in out.getvalue()
    assert studio_folders(temp_root) == [] and list(work.iterdir()) == []


def test_folders_left_by_a_killed_run_are_deleted_by_the_next_one(temp_root: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **PIPE)
    abandoned = make_private_folder()
    (abandoned / OWNER_FILE).write_text(finished.stdout.strip())
    (abandoned / "session.sqlite").write_bytes(b"a conversation")
    running = make_private_folder()  # this process's: still in use

    fresh = make_private_folder()

    assert studio_folders(temp_root) == sorted([running, fresh])
    assert sweep_abandoned(temp_root) == []


PIPE: dict[str, Any] = {"capture_output": True, "text": True, "check": True}


def test_the_served_config_is_the_projects_for_one_origin_with_absolute_paths(
    tmp_path: Path,
) -> None:
    project = json.loads((PROJECT_ROOT / "langgraph.json").read_text())
    assert project["http"]["cors"] == cors_config(DEFAULT_STUDIO_URL)

    served = json.loads(
        write_served_config(
            PROJECT_ROOT / "langgraph.json", tmp_path, "https://studio.example"
        ).read_text()
    )

    assert served["http"]["cors"]["allow_origins"] == ["https://studio.example"]
    assert served["dependencies"] == [str(PROJECT_ROOT)]
    for spec in (served["graphs"]["lex"], served["checkpointer"]["path"]):
        assert Path(spec.partition(":")[0]).is_file()
    assert served["env"] == str(PROJECT_ROOT / ".env")


def test_the_dev_server_listens_on_loopback_with_no_cors_override() -> None:
    command = dev_server_command(Path("/srv/langgraph.json"), 4321)
    assert command[command.index("--host") + 1] == LOOPBACK == "127.0.0.1"
    assert command[command.index("--port") + 1] == "4321"
    environ = dev_server_environment({"CORS_CONFIG": "{}", "CORS_ALLOW_ORIGINS": "*", "A": "1"})
    assert "CORS_CONFIG" not in environ and "CORS_ALLOW_ORIGINS" not in environ
    assert environ["A"] == "1" and environ["LANGSMITH_TRACING"] == "false"
    assert studio_origin("https://smith.langchain.com/") == "https://smith.langchain.com"
    with pytest.raises(CliError):
        studio_origin("smith.langchain.com")


def test_studio_urls_and_ports() -> None:
    url = studio_thread_url(
        "https://smith.langchain.com/", "http://127.0.0.1:2024/", "0b6b8f0e-3c5e-5d7a"
    )
    assert url == (
        "https://smith.langchain.com/studio/thread/0b6b8f0e-3c5e-5d7a"
        "?baseUrl=http%3A%2F%2F127.0.0.1%3A2024"
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = int(listener.getsockname()[1])
        assert port_taken(taken)
        with pytest.raises(CliError, match=f"port {taken} is taken"):
            choose_port(taken)
    free = free_port()
    assert not port_taken(free) and choose_port(free) == free
    assert 0 < choose_port(0) < 65536


@pytest.mark.parametrize(
    "cors",
    [{"allow_origins": ["*"]}, {"allow_origin_regex": "https://.*"}, {"allow_origins": []}],
)
def test_a_dev_server_answering_any_origin_or_not_studio_is_refused(cors: dict[str, Any]) -> None:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_methods=["*"], **cors)
    with serve(app) as url, pytest.raises(CliError, match="langgraph dev"):
        check_origins(url, DEFAULT_STUDIO_URL)
    studio_only = FastAPI()
    studio_only.add_middleware(
        CORSMiddleware, allow_origins=[DEFAULT_STUDIO_URL], allow_methods=["*"]
    )
    with serve(studio_only) as url:
        check_origins(url, DEFAULT_STUDIO_URL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_end_lex_studio_as_ctrl_c_does(signum: int) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt), stop_signals_interrupt():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts it
    assert signal.getsignal(signum) == before
