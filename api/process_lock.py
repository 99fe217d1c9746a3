"""Refuses a second process on storage or coordination that only one process may use.

A SQLite file has one writer, and in-process coordination sees only its own turns: two processes
on either would each think they own every session. So unless the service runs on Postgres *and*
Redis, each process takes an exclusive lock on a lock file (beside the SQLite file, or in the temp
directory for a Postgres URL) and a second process on the same data refuses to start with a
message that says what to set. `WORKERS` above 1 is refused up front for the same reason.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

SCALE_OUT_HINT = (
    "Running more than one process (WORKERS > 1, or several replicas) needs shared storage, "
    "coordination and limits: set DATABASE_URL=postgresql://... and REDIS_URL=redis://..., and "
    "leave RATE_LIMIT_STORAGE_URL unset (or on Redis, not memory://)"
)


class SingleProcessOnly(RuntimeError):
    """Another process already serves this data, or more than one worker was asked for."""


def lock_path_for(database_url: str, sqlite_file: Path | None) -> Path:
    """Returns the lock file guarding `database_url`: beside a SQLite file, else in the temp dir."""
    if sqlite_file is not None:
        return sqlite_file.with_name(sqlite_file.name + ".lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"lex-{digest}.lock"


def check_workers(workers: int, *, shared: bool) -> None:
    """Refuses `workers` above 1 unless storage and coordination are shared.

    Raises:
        SingleProcessOnly: with the settings to change.
    """
    if workers > 1 and not shared:
        raise SingleProcessOnly(f"WORKERS={workers} was asked for. {SCALE_OUT_HINT}")


@contextmanager
def single_process_lock(path: Path, what: str) -> Iterator[None]:
    """Holds an exclusive lock on `path` while the block runs.

    Args:
        path: The lock file (created if missing).
        what: What is guarded, for the message.

    Raises:
        SingleProcessOnly: Another process holds the lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SingleProcessOnly(
                f"another Lex process already serves {what} (lock {path}). {SCALE_OUT_HINT}"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        yield
    finally:
        os.close(descriptor)  # closing the file releases the lock
