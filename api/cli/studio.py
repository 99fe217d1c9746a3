"""`lex studio SESSION_ID`: opens one saved session in LangGraph Studio, and leaves nothing behind.

The command copies that session's thread alone out of the app's database (SQLite or Postgres, as
`DATABASE_URL` says) into a private file (`api.cli.studio_copy`), starts its own `langgraph dev` on
a free loopback port serving that copy to Studio's origin only (`api.cli.studio_server`),
registers the thread with it and prints the Studio URL. Ctrl-C, SIGTERM, SIGHUP, an error or the
dev server's exit stop the server and delete the copy. Runs made in Studio land in the copy,
never in the app's database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final, TextIO
from urllib.parse import urlencode

from langgraph_sdk import get_sync_client

from api.cli.common import CliError, Subcommands
from api.cli.studio_copy import SessionCopy, copy_session, make_private_folder, remove_folder
from api.cli.studio_server import (
    DEFAULT_STUDIO_URL,
    check_origins,
    free_loopback_port,
    port_taken,
    server_url,
    start_dev_server,
    stop_process,
    studio_origin,
    wait_until_ready,
    write_served_config,
)
from api.settings import Settings
from checkpoints.studio import STUDIO_COPY_ENV

GRAPH_ID: Final = "lex"
"""The graph's id in `langgraph.json`; the dev server makes it an assistant of the same id."""
CONFIG_FILE: Final = "langgraph.json"
LOG_FILE: Final = "langgraph-dev.log"
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)
"""Signals that end the command like Ctrl-C does (SIGINT already raises KeyboardInterrupt)."""


def register(subcommands: Subcommands) -> None:
    """Adds the `studio` subcommand."""
    studio = subcommands.add_parser(
        "studio",
        help="open a saved session in LangGraph Studio (a private copy, deleted on exit)",
        description=(
            "Copy one saved session out of the app's database (DATABASE_URL, SQLite or Postgres) "
            "into a private file, serve it with langgraph dev on 127.0.0.1 to Studio's origin "
            "only, and print the Studio URL. Ctrl-C stops the server and deletes the copy."
        ),
    )
    studio.add_argument("session_id", help="the session to open, as `lex sessions` lists it")
    studio.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback port of langgraph dev (default: a free one)",
    )
    studio.add_argument(
        "--studio-url",
        default=DEFAULT_STUDIO_URL,
        help=f"the Studio web app, the only origin served ({DEFAULT_STUDIO_URL})",
    )
    studio.add_argument(
        "--config", type=Path, default=None, help=f"the {CONFIG_FILE} to serve (the project's)"
    )
    studio.set_defaults(run=open_in_studio)


def studio_thread_url(studio_url: str, dev_url: str, thread_id: str) -> str:
    """Returns the Studio URL that opens a thread of the dev server at `dev_url`."""
    query = urlencode({"baseUrl": dev_url.rstrip("/")})
    return f"{studio_url.rstrip('/')}/studio/thread/{thread_id}?{query}"


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


def choose_port(requested: int) -> int:
    """Returns the port to serve on: the requested one if free, else a free one.

    Raises:
        CliError: when the requested port is taken (langgraph dev would quietly move elsewhere).
    """
    if not requested:
        return free_loopback_port()
    if not 0 < requested < 65536:
        raise CliError(f"--port must be between 1 and 65535, got {requested}")
    if port_taken(requested):
        raise CliError(f"port {requested} is taken on 127.0.0.1; pick another with --port")
    return requested


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Turns SIGTERM and SIGHUP into KeyboardInterrupt inside the block, as Ctrl-C is."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """Ignores Ctrl-C and the stop signals inside the block, so cleaning up runs to its end."""
    numbers = (signal.SIGINT, *STOP_SIGNALS)
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def register_thread(dev_url: str, copy: SessionCopy) -> tuple[int, str | None]:
    """Registers the session's thread with the dev server.

    Returns:
        How many messages the dev server sees in it, and the checkpoint it reads them from.
    """
    client = get_sync_client(url=dev_url)
    client.threads.create(
        thread_id=copy.thread_id,
        metadata={"session_id": copy.session_id, "title": copy.title},
        if_exists="do_nothing",
        graph_id=GRAPH_ID,
    )
    state = client.threads.get_state(copy.thread_id)
    values: Any = state.get("values")
    messages = values.get("messages", []) if isinstance(values, dict) else []
    checkpoint: Any = state.get("checkpoint") or {}
    return len(messages), checkpoint.get("checkpoint_id")


def announce(out: TextIO, copy: SessionCopy, seen: int, dev_url: str, studio_url: str) -> None:
    """Prints what the dev server holds for the session and the Studio URL that opens it."""
    title = f' "{copy.title}"' if copy.title else ""
    out.write(
        f"Session {copy.session_id}{title}: thread {copy.thread_id}, "
        f"{seen} messages, {copy.checkpoints} checkpoints.\n"
    )
    out.write(f"Studio: {studio_thread_url(studio_url, dev_url, copy.thread_id)}\n")
    out.write("Ctrl-C stops langgraph dev and deletes the copy.\n")
    out.flush()


class StudioRun:
    """What one `lex studio` run made: its private folder and its dev server, undone by `close`."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.copied = False
        self.process: subprocess.Popen[bytes] | None = None

    def serve(self, args: argparse.Namespace, out: TextIO, config: Path, origin: str) -> int:
        """Copies the session, serves it until the dev server ends; returns the server's code."""
        port = choose_port(args.port)
        self.folder = make_private_folder()
        settings = Settings()
        copy = asyncio.run(copy_session(settings.database_url, args.session_id, self.folder))
        self.copied = True
        out.write(f"Copied session {copy.session_id} alone to {copy.path} (deleted on exit).\n")
        dev_url = server_url(port)
        log_path = self.folder / LOG_FILE
        environ = {**os.environ, STUDIO_COPY_ENV: str(copy.path)}
        served = write_served_config(config, self.folder, origin)
        self.process = start_dev_server(served, port, environ, log_path)
        out.write(f"Starting langgraph dev on {dev_url} (answers {origin} only) ...\n")
        out.flush()
        wait_until_ready(dev_url, self.process, log_path)
        check_origins(dev_url, origin)
        seen, checkpoint_id = register_thread(dev_url, copy)
        if checkpoint_id != copy.head:
            raise CliError(
                f"langgraph dev reads another database than the copy ({STUDIO_COPY_ENV} set "
                "in .env?); not serving the session"
            )
        announce(out, copy, seen, dev_url, args.studio_url)
        return self.process.wait()

    def close(self, out: TextIO) -> None:
        """Stops the dev server and deletes the folder with the copy, whatever happened before."""
        if self.process is not None:
            stop_process(self.process)
            out.write("Stopped langgraph dev.\n")
        if self.folder is not None:
            remove_folder(self.folder)
            if self.copied:
                out.write(f"Deleted the copy ({self.folder}).\n")
        out.flush()


def open_in_studio(args: argparse.Namespace, out: TextIO) -> int:
    """Runs `lex studio`: the copy and the dev server live exactly as long as the command."""
    config = find_config(args.config)
    origin = studio_origin(args.studio_url)
    run = StudioRun()
    with stop_signals_interrupt():
        try:
            return run.serve(args, out, config, origin)
        except KeyboardInterrupt:
            return 0
        finally:
            with signals_held():
                run.close(out)
