"""The private copy `lex studio` serves: one session's thread, in a folder only its owner can open.

The app's database (`DATABASE_URL`, SQLite or Postgres) is opened as the app opens it (an older
SQLite file gets the settings the app's next start would give it) and its sessions are only read.
The session's thread is found in the session list (a conversation of a client that never created
a session is listed under its `b-...` key, and its thread is the `uuid5` of that key, not of the
id the client sent) and copied alone into a new SQLite file (`checkpoints.studio.copy_thread`).

Each run makes a new folder (mode 0700) in the temporary directory (`$TMPDIR`) for the copy
(0600), the dev server's configuration, log and own files, and deletes it when the command ends,
however it ends. A run that could not clean up (killed with SIGKILL) leaves a folder whose owner
process is gone; the next run deletes it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
import psycopg_pool
from langgraph.checkpoint.base import BaseCheckpointSaver

from api.cli.common import CliError
from checkpoints.postgres.pool import is_postgres_url, open_pool
from checkpoints.postgres.saver import PooledPostgresSaver
from checkpoints.postgres.sessions import PostgresSessionRegistry
from checkpoints.saver import DatabaseUrlError, open_checkpointer, sqlite_path, thread_id_for
from checkpoints.sessions import SessionRegistry, open_session_registry
from checkpoints.studio import copy_thread

logger = logging.getLogger(__name__)

FOLDER_PREFIX: Final = "lex-studio-"
OWNER_FILE: Final = "owner.pid"
"""Names the process that made a folder, so a later run knows when it was abandoned."""
COPY_FILE: Final = "session.sqlite"
OWNER_ONLY_FILE: Final = 0o600
SOURCE_POOL_SIZE: Final = 2


@dataclass(frozen=True)
class SessionCopy:
    """One session copied for Studio.

    Attributes:
        session_id: The id it was asked for (as `lex sessions` lists it).
        thread_id: Its thread.
        title: Its title in the session list ("" without an entry).
        checkpoints: How many checkpoints were copied.
        head: The id of its newest checkpoint.
        path: The copy's file.
    """

    session_id: str
    thread_id: str
    title: str
    checkpoints: int
    head: str
    path: Path


def owner_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_abandoned(root: Path) -> list[Path]:
    """Deletes the folders of earlier runs whose process is gone; returns them.

    Only this user's folders with the prefix and an owner file naming a dead process are touched.
    """
    swept: list[Path] = []
    for folder in root.glob(f"{FOLDER_PREFIX}*"):
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            pid = int((folder / OWNER_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if owner_alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("deleted %s, left by a run that was killed", folder)
        swept.append(folder)
    return swept


def remove_folder(folder: Path) -> None:
    """Deletes a folder and everything in it; says so on the log when something stays."""

    def complain(function: object, path: str, error: object) -> None:
        logger.warning("could not delete %s: %s", path, error)

    shutil.rmtree(folder, onerror=complain)


def make_private_folder(root: Path | None = None) -> Path:
    """Makes a new folder only this user can open (mode 0700), owned by this process.

    Args:
        root: Where to make it (the temporary directory when None); abandoned folders of earlier
            runs there are deleted first.
    """
    base = Path(root or tempfile.gettempdir())
    sweep_abandoned(base)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=base))
    (folder / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return folder


def new_private_file(path: Path) -> Path:
    """Creates an empty file readable and writable by its owner only (never anyone else's)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE))
    return path


@asynccontextmanager
async def open_app_database(
    database_url: str,
) -> AsyncIterator[tuple[BaseCheckpointSaver[Any], SessionRegistry]]:
    """Opens the app's saver and session list, as the app does, without creating the database.

    Raises:
        CliError: for a bad URL, a missing SQLite file, or a Postgres server that does not answer.
    """
    if is_postgres_url(database_url):
        try:
            async with open_pool(database_url, max_size=SOURCE_POOL_SIZE) as pool:
                yield PooledPostgresSaver(pool), PostgresSessionRegistry(pool)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            reason = type(error).__name__
            raise CliError(f"cannot reach Postgres at DATABASE_URL ({reason})") from None
        return
    try:
        path = sqlite_path(database_url)
    except DatabaseUrlError as error:
        raise CliError(str(error)) from None
    if not path.is_file():
        raise CliError(f"no database at {path} (DATABASE_URL); has Lex saved anything yet?")
    async with open_checkpointer(path) as saver, open_session_registry(path) as registry:
        yield saver, registry


async def copy_session(database_url: str, session_id: str, folder: Path) -> SessionCopy:
    """Copies one session's thread from the app's database into a new file in `folder`.

    Args:
        database_url: The app's `DATABASE_URL`.
        session_id: The session, as `lex sessions` lists it.
        folder: A private folder (see `make_private_folder`).

    Raises:
        CliError: when the database cannot be read or holds no such session.
    """
    try:
        async with open_app_database(database_url) as (saver, registry):
            record = await registry.get(session_id)
            thread_id = record.thread_id if record is not None else thread_id_for(session_id)
            if await saver.aget_tuple({"configurable": {"thread_id": thread_id}}) is None:
                raise CliError(f"no saved session {session_id!r} (lex sessions lists them)")
            path = new_private_file(folder / COPY_FILE)
            async with open_checkpointer(path) as target:
                copied = await copy_thread(saver, target, thread_id)
    except psycopg.errors.UndefinedTable:
        raise CliError("no Lex tables at DATABASE_URL; has Lex saved anything yet?") from None
    if copied.head is None:
        raise CliError(f"no saved session {session_id!r} (lex sessions lists them)")
    return SessionCopy(
        session_id=session_id,
        thread_id=thread_id,
        title=record.title if record is not None else "",
        checkpoints=copied.checkpoints,
        head=copied.head,
        path=path,
    )
