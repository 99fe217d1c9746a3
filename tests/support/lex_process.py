"""Lex as a separate OS process: `python -m api.serve` on a loopback port, configured by env.

For scenarios that need several processes sharing Postgres and Redis (scale-out), or a process
that can be killed. The process reads its settings from the environment only (it runs in a
scratch directory, so no `.env` is picked up).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.app_server import TEST_ADMIN_TOKEN
from tests.support.live_server import free_port

SERVE_COMMAND = (sys.executable, "-m", "api.serve")
"""What operators run (`make run` and the container run it too)."""
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass
class LexProcess:
    """A running Lex process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        """Whether `/health` answers 200 now."""
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Waits for `/health` to answer 200; raises with the log when the process dies first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited {self.process.returncode}:\n{self.output()}"
                )
            if self.healthy():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not healthy within {timeout_s} s:\n{self.output()}")

    def output(self) -> str:
        """What the process wrote so far (stdout and stderr)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crashed machine."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()


TEST_BINDING_KEY = "test-binding-key"


def lex_env(settings: Mapping[str, str]) -> dict[str, str]:
    """A Lex process's environment: this one's, minus Lex and Groq settings, plus `settings`."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GROQ_", "LEX_", "MODEL_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "WORKERS", "ON_BUSY", "ADMIN_TOKEN"}
    }
    # Replicas share the operator's token and the binding key, as a deployment must.
    shared = {
        "ADMIN_TOKEN": TEST_ADMIN_TOKEN,
        "SESSION_BINDING_KEY": TEST_BINDING_KEY,
        "QUERY_RATE_LIMIT": "none",
        "SESSION_TURN_LIMIT": "none",
        "SESSION_CREATE_RATE_LIMIT": "none",
    }
    return {**inherited, "MODEL_PROVIDER": "offline", "LOG_LEVEL": "WARNING", **shared, **settings}


def spawn(
    name: str, workdir: Path, settings: Mapping[str, str], *, serve_args: tuple[str, ...] = ()
) -> LexProcess:
    """Starts `python -m api.serve` with `settings` as its environment; does not wait for it."""
    port = free_port()
    log = workdir / f"{name}.log"
    workdir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *SERVE_COMMAND,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *serve_args,
            ],
            cwd=workdir,
            env=lex_env(settings),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return LexProcess(name, port, process, log)


@contextmanager
def lex_processes(
    workdir: Path, settings: Mapping[str, str], names: tuple[str, ...], **per_name: dict[str, str]
) -> Iterator[dict[str, LexProcess]]:
    """Starts one process per name (together), waits until all are healthy, stops them after.

    Args:
        workdir: Scratch directory for logs (and the processes' working directory).
        settings: Environment shared by every process.
        names: One process per name.
        **per_name: Extra environment of one process, by name.
    """
    with ExitStack() as stack:
        started: dict[str, LexProcess] = {}
        for name in names:
            process = spawn(name, workdir, {**settings, **per_name.get(name, {})})
            stack.callback(process.stop)
            started[name] = process
        for process in started.values():
            process.wait_healthy()
        yield started
