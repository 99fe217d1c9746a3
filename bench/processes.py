"""Starts, watches and stops the benchmark's child processes: stand-in, Lex, `langgraph dev`.

Each server is a real process on a free loopback port, started the way an operator starts it,
so what is measured includes uvicorn, the HTTP stack and the process's own memory. Only the
processes started here are ever stopped, each by its own process group.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from checkpoints.studio import STUDIO_COPY_ENV
from tests.support.live_server import free_port

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
BENCH_API_KEY = "gsk_bench_standin_key"
BENCH_ADMIN_TOKEN = "bench-operator-token"
"""The measured server's operator token: the benchmark reads its sessions back by id."""
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Child:
    """A child process the benchmark started.

    Attributes:
        name: What it is, for logs and the report.
        process: The process (leader of its own process group).
        base_url: Where it serves HTTP.
        log_path: Where its output goes.
    """

    name: str
    process: subprocess.Popen[str]
    base_url: str
    log_path: Path | None = None
    _log: IO[str] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def stop(self) -> None:
        """Stops the process group politely, then for good. Idempotent."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s; killing it", self.name, STOP_TIMEOUT_S)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _spawn(
    name: str,
    argv: list[str],
    env: Mapping[str, str],
    log_path: Path | None,
    *,
    stdin: int | None = None,
    stdout: int | IO[str] | None = None,
) -> tuple[subprocess.Popen[str], IO[str] | None]:
    log = log_path.open("w") if log_path is not None else None
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=stdin,
        stdout=stdout if stdout is not None else (log or subprocess.DEVNULL),
        stderr=log or subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    logger.info("started %s (pid %d)", name, process.pid)
    return process, log


def wait_until_up(child: Child, path: str, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Polls `path` until it answers 200.

    Raises:
        RuntimeError: The process exited or did not answer in time.
    """
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(child.base_url + path).status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not answer {path} within {timeout_s:.0f} s")


class StandIn:
    """The stand-in Groq server child (`bench.standin`), steered through its standard input."""

    def __init__(self, log_path: Path | None) -> None:
        process, log = _spawn(
            "groq stand-in",
            [sys.executable, "-m", "bench.standin"],
            {},
            log_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if len(ready) != 2 or ready[0] != "ready":
            process.kill()
            raise RuntimeError(f"the stand-in did not start: {ready!r}")
        self.child = Child("groq stand-in", process, f"http://127.0.0.1:{ready[1]}", log_path, log)

    @property
    def base_url(self) -> str:
        """What `GROQ_API_BASE` takes."""
        return self.child.base_url

    def command(self, line: str) -> None:
        """Sends one command and waits for its acknowledgement."""
        process = self.child.process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(line + "\n")
        process.stdin.flush()
        if process.stdout.readline().strip() != "ok":
            raise RuntimeError(f"the stand-in did not acknowledge {line!r}")

    def set_latency(self, first_token_ms: float, tokens_per_s: float) -> None:
        """Sets the latency of every later answer (0 tokens/s streams without pauses)."""
        self.command(f"latency {first_token_ms:g} {tokens_per_s:g}")

    def forget_requests(self) -> None:
        """Drops the requests the stand-in recorded (it keeps them all otherwise)."""
        self.command("forget")

    def last_request(self, path: Path) -> dict[str, Any]:
        """The body of the last chat request the stand-in received (written to `path`)."""
        self.command(f"save {path}")
        body: dict[str, Any] = json.loads(path.read_text())
        return body

    def stop(self) -> None:
        """Asks the stand-in to quit, then stops it."""
        with contextlib.suppress(Exception):
            self.command("quit")
        self.child.stop()


def groq_env(standin_url: str) -> dict[str, str]:
    """The environment that points the service's ChatGroq at the stand-in."""
    return {
        "GROQ_API_KEY": BENCH_API_KEY,
        "GROQ_API_BASE": standin_url,
        "MODEL_PROVIDER": "groq",
        "MODEL_MAX_RETRIES": "0",
        "LANGSMITH_TRACING": "false",
    }


def start_lex(
    standin_url: str,
    database: Path,
    log_path: Path | None,
    extra_env: Mapping[str, str] | None = None,
    *,
    workers: int = 1,
) -> Child:
    """Starts Lex as `make run` does (`python -m api.serve`) on a fresh database; waits for it.

    `extra_env` may name another database (`DATABASE_URL`) and Redis for several `workers`.
    """
    port = free_port()
    env = {
        **groq_env(standin_url),
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "INFO",
        "ADMIN_TOKEN": BENCH_ADMIN_TOKEN,
        "QUERY_RATE_LIMIT": "none",  # the benchmark is one client sending thousands of turns
        "SESSION_TURN_LIMIT": "none",
        "MAX_RUNNING_TURNS": "1000",
        **(extra_env or {}),
    }
    argv = [sys.executable, "-m", "api.serve", "--host", "127.0.0.1"]
    argv += ["--workers", str(workers)]
    process, log = _spawn("lex", [*argv, "--port", str(port)], env, log_path)
    child = Child("lex", process, f"http://127.0.0.1:{port}", log_path, log)
    try:
        wait_until_up(child, "/health")
    except Exception:
        child.stop()
        raise
    return child


def langgraph_cli() -> Path | None:
    """The `langgraph` command of this environment, or None when langgraph-cli is missing."""
    candidate = Path(sys.executable).with_name("langgraph")
    return candidate if candidate.exists() else None


def start_langgraph_dev(standin_url: str, workdir: Path, log_path: Path | None, jobs: int) -> Child:
    """Starts `langgraph dev` on `langgraph.json` (the Studio graph), without reload or browser.

    Args:
        standin_url: The stand-in the graph's ChatGroq talks to.
        workdir: Where its Studio database goes.
        log_path: Where its output goes.
        jobs: `--n-jobs-per-worker`: how many runs it executes at once.
    """
    cli = langgraph_cli()
    if cli is None:
        raise RuntimeError("langgraph-cli is not installed: pip install 'langgraph-cli[inmem]'")
    port = free_port()
    env = {
        **groq_env(standin_url),
        STUDIO_COPY_ENV: str(workdir / "studio.sqlite"),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LOG_LEVEL": "WARNING",
    }
    argv = [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--n-jobs-per-worker", str(jobs)]
    argv += ["--server-log-level", "WARNING"]
    process, log = _spawn("langgraph dev", argv, env, log_path)
    child = Child("langgraph dev", process, f"http://127.0.0.1:{port}", log_path, log)
    try:
        wait_until_up(child, "/ok")
    except Exception:
        child.stop()
        raise
    return child


def _process_tree(pid: int) -> Iterator[int]:
    yield pid
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                yield from _process_tree(int(child))


def _status_kib(pid: int, field_name: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants now (Linux `/proc`)."""
    return 1024 * sum(_status_kib(p, "VmRSS") for p in _process_tree(pid))


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of one process's resident memory (`VmHWM`)."""
    return 1024 * _status_kib(pid, "VmHWM")


def database_bytes(path: Path) -> int:
    """Bytes of the SQLite database in use (pages minus free pages), WAL content included."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    return page_size * (pages - free)


def checkpoint_payload_bytes(path: Path) -> int:
    """Bytes of the saved checkpoints and writes themselves (blobs and metadata, no index)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        checkpoints = db.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints"
        ).fetchone()[0]
        writes = db.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()[0]
    return int(checkpoints) + int(writes)
