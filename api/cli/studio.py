"""`lex studio SESSION_ID`: opens a saved session in LangGraph Studio through `langgraph dev`.

SQLite has one writer, so the dev server never opens the app's live database: the command copies
it (SQLite's online backup, safe while the app runs) to the Studio copy (`STUDIO_DATABASE_URL`),
starts `langgraph dev` on that copy unless one already answers, registers the session's thread
with it and prints the Studio URL. The dev server runs offline: no browser, no tunnel, no version
check, no CLI analytics, no tracing.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

import httpx
from langgraph_sdk import get_sync_client

from api.cli.common import CliError, Subcommands
from api.settings import Settings
from checkpoints.saver import sqlite_path, thread_id_for
from checkpoints.studio import STUDIO_DATABASE_ENV, copy_database

logger = logging.getLogger(__name__)

GRAPH_ID = "lex"
"""The graph's id in `langgraph.json`; the dev server makes it an assistant of the same id."""
DEFAULT_DEV_URL = "http://127.0.0.1:2024"
DEFAULT_STUDIO_ORIGIN = "https://smith.langchain.com"
CONFIG_FILE = "langgraph.json"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
OFFLINE_DEV_ENV = {
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
}
"""Keeps `langgraph dev` from reaching out: no version check, no analytics, no tracing."""
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def register(subcommands: Subcommands) -> None:
    """Adds the `studio` subcommand."""
    studio = subcommands.add_parser(
        "studio",
        help="open a saved session in LangGraph Studio (through langgraph dev)",
        description=(
            "Copy the app's database to the Studio copy, make sure `langgraph dev` serves it, "
            "register the session's thread and print the Studio URL. A dev server started "
            "here keeps running until Ctrl-C."
        ),
    )
    studio.add_argument("session_id", help="the session to open")
    studio.add_argument(
        "--dev-url", default=DEFAULT_DEV_URL, help=f"langgraph dev's URL ({DEFAULT_DEV_URL})"
    )
    studio.add_argument(
        "--studio-url",
        default=DEFAULT_STUDIO_ORIGIN,
        help=f"the Studio web app ({DEFAULT_STUDIO_ORIGIN})",
    )
    studio.add_argument(
        "--config", type=Path, default=None, help=f"the {CONFIG_FILE} to serve (the project's)"
    )
    studio.set_defaults(run=open_in_studio)


@dataclass(frozen=True)
class SavedSession:
    """A session found in the app's database.

    Attributes:
        session_id: The client's session id.
        thread_id: Its thread id.
        title: Its title in the registry ("" if it has no entry).
        checkpoints: How many checkpoints its thread has.
    """

    session_id: str
    thread_id: str
    title: str
    checkpoints: int


def find_saved_session(database: Path, session_id: str) -> SavedSession:
    """Looks a session up in a database file.

    Raises:
        CliError: when the file or the session's history is missing.
    """
    if not database.is_file():
        raise CliError(f"no database at {database} (DATABASE_URL); has Lex saved anything yet?")
    thread_id = thread_id_for(session_id)
    with sqlite3.connect(database, timeout=10) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        count = 0
        if "checkpoints" in tables:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
            ).fetchone()
        title_row = None
        if "sessions" in tables:
            title_row = db.execute(
                "SELECT title FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
    if not count:
        raise CliError(f"no saved session {session_id!r} in {database}")
    return SavedSession(session_id, thread_id, str(title_row[0]) if title_row else "", int(count))


def studio_thread_url(studio_origin: str, dev_url: str, thread_id: str) -> str:
    """Returns the Studio URL that opens a thread of the dev server at `dev_url`."""
    query = urlencode({"baseUrl": dev_url.rstrip("/")})
    return f"{studio_origin.rstrip('/')}/studio/thread/{thread_id}?{query}"


def dev_server_ready(dev_url: str, timeout_s: float = 1.0) -> bool:
    """Whether a LangGraph API server answers at `dev_url`."""
    try:
        return httpx.get(f"{dev_url.rstrip('/')}/ok", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def port_taken(dev_url: str) -> bool:
    """Whether something accepts connections at `dev_url`'s host and port."""
    parts = urlsplit(dev_url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1.0):
            return True
    except OSError:
        return False


def dev_server_command(config: Path, dev_url: str) -> list[str]:
    """Returns the `langgraph dev` command line serving `config` at `dev_url`, offline."""
    parts = urlsplit(dev_url)
    return [
        sys.executable,
        "-m",
        "langgraph_cli",
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        parts.hostname or "127.0.0.1",
        "--port",
        str(parts.port or 2024),
        "--config",
        str(config),
    ]


def start_dev_server(
    config: Path, dev_url: str, environ: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Starts `langgraph dev` in the background, its output going to `log_path`.

    Args:
        config: The `langgraph.json` to serve; the server runs in its folder.
        dev_url: Where it listens.
        environ: Its environment (the offline switches are added).
        log_path: File receiving its output.
    """
    if importlib.util.find_spec("langgraph_cli") is None:  # a dev dependency
        raise CliError("langgraph dev is not installed: pip install -e '.[dev]'")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            dev_server_command(config, dev_url),
            cwd=config.parent,
            env={**environ, **OFFLINE_DEV_ENV},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_ready(
    dev_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    """Returns once the dev server answers.

    Raises:
        CliError: when it exits or does not answer within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while not dev_server_ready(dev_url):
        if process.poll() is not None:
            raise CliError(f"langgraph dev exited with code {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            stop_process(process)
            raise CliError(f"langgraph dev did not answer within {timeout_s:.0f} s; see {log_path}")
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stops a child process: politely, then for good."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def register_thread(dev_url: str, session: SavedSession) -> int:
    """Registers the session's thread with the dev server; returns the messages it sees there."""
    client = get_sync_client(url=dev_url)
    client.threads.create(
        thread_id=session.thread_id,
        metadata={"session_id": session.session_id, "title": session.title},
        if_exists="do_nothing",
        graph_id=GRAPH_ID,
    )
    state = client.threads.get_state(session.thread_id)
    values: Any = state.get("values")
    messages = values.get("messages", []) if isinstance(values, dict) else []
    return len(messages)


def find_config(explicit: Path | None) -> Path:
    """Returns the `langgraph.json` to serve: the given one, the working folder's, the project's.

    Raises:
        CliError: when there is none.
    """
    candidates = [explicit] if explicit else [Path.cwd() / CONFIG_FILE, PROJECT_ROOT / CONFIG_FILE]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    raise CliError(f"no {CONFIG_FILE} found (looked at {', '.join(map(str, candidates))})")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turns SIGTERM into KeyboardInterrupt inside the block, so the child server is stopped too."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def announce(out: TextIO, session: SavedSession, seen: int, dev_url: str, studio: str) -> None:
    """Prints what the dev server holds for the session and the Studio URL that opens it.

    Raises:
        CliError: when the dev server sees no messages (it reads another database).
    """
    if seen == 0:
        raise CliError(
            f"the dev server at {dev_url} does not see this session: it reads another database. "
            "Stop it and run lex studio again."
        )
    title = f' "{session.title}"' if session.title else ""
    out.write(
        f"Session {session.session_id}{title}: thread {session.thread_id}, "
        f"{seen} messages, {session.checkpoints} checkpoints.\n"
    )
    out.write(f"Studio: {studio_thread_url(studio, dev_url, session.thread_id)}\n")
    out.flush()


def open_in_studio(args: argparse.Namespace, out: TextIO) -> int:
    """Copies the database, serves it with `langgraph dev`, registers the thread, prints the URL."""
    settings = Settings()
    database = sqlite_path(settings.database_url).resolve()
    studio_database = sqlite_path(settings.studio_database_url).resolve()
    if database == studio_database:
        raise CliError("STUDIO_DATABASE_URL must name another file than DATABASE_URL")
    session = find_saved_session(database, args.session_id)
    copy_database(database, studio_database)
    out.write(f"Copied {database} to {studio_database} (Studio never opens the live file).\n")

    dev_url = str(args.dev_url).rstrip("/")
    process: subprocess.Popen[bytes] | None = None
    log_path = studio_database.parent / "langgraph-dev.log"
    if not dev_server_ready(dev_url):
        if port_taken(dev_url):
            # langgraph dev would quietly move to another port: say so instead.
            raise CliError(
                f"something that is not langgraph dev listens at {dev_url}; "
                "pick a free port with --dev-url http://127.0.0.1:PORT"
            )
        config = find_config(args.config)
        environ = {**os.environ, STUDIO_DATABASE_ENV: f"sqlite:///{studio_database}"}
        process = start_dev_server(config, dev_url, environ, log_path)
        out.write(f"Starting langgraph dev on {dev_url} (log: {log_path}) ...\n")
        out.flush()

    with sigterm_as_interrupt():
        try:
            if process is not None:
                wait_until_ready(dev_url, process, log_path, READY_TIMEOUT_S)
            announce(out, session, register_thread(dev_url, session), dev_url, args.studio_url)
            if process is None:
                return 0
            out.write("langgraph dev keeps serving it; Ctrl-C stops it.\n")
            out.flush()
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            if process is not None:
                stop_process(process)
