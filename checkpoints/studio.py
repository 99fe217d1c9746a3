"""The checkpointer `langgraph dev` opens for LangGraph Studio: a SQLite copy of the app's database.

SQLite has one writer, and the app and the dev server would each hold the file open, so Studio
never opens the app's live database: `lex studio` copies it (SQLite's online backup, consistent
while the app writes) to the file named by `STUDIO_DATABASE_URL`, and runs, forks and edits made
in Studio land in that copy. `langgraph.json` names `studio_checkpointer` as `checkpointer.path`;
the dev server calls it without arguments, which is why it reads that one variable itself.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, closing
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from checkpoints.saver import open_checkpointer, sqlite_path

logger = logging.getLogger(__name__)

STUDIO_DATABASE_ENV = "STUDIO_DATABASE_URL"
"""Environment variable naming the Studio copy (same form as DATABASE_URL)."""
DEFAULT_STUDIO_DATABASE_URL = "sqlite:///data/lex-studio.sqlite"


def studio_database_path(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the file of the Studio copy, from `STUDIO_DATABASE_URL` or its default.

    Args:
        environ: The environment to read (the process environment when None).
    """
    values = os.environ if environ is None else environ
    return sqlite_path(values.get(STUDIO_DATABASE_ENV) or DEFAULT_STUDIO_DATABASE_URL)


@asynccontextmanager
async def studio_checkpointer() -> AsyncIterator[AsyncSqliteSaver]:
    """Opens the saver on the Studio copy; `langgraph.json`'s `checkpointer.path` points here."""
    path = studio_database_path()
    logger.info("Studio checkpointer on %s", path)
    async with open_checkpointer(path) as saver:
        yield saver


def copy_database(source: Path, target: Path) -> None:
    """Copies a SQLite database with the online backup API, page by page.

    The copy is consistent even while another process writes to `source`. `target` is replaced
    in place, so a dev server that has it open sees the new content on its next read.

    Raises:
        FileNotFoundError: when `source` does not exist.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source)) as reader,
        closing(sqlite3.connect(target, timeout=10)) as writer,
    ):
        reader.backup(writer)
    logger.info("copied %s to %s", source, target)
