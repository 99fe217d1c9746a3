"""`python -m api.serve`: runs the HTTP service under uvicorn; exits non-zero when it cannot start.

Why not `uvicorn api.main:app --workers N` directly: when a worker fails at start-up (a setting
refused, a database that does not answer), uvicorn's supervisor stops every worker and then exits
0 (uvicorn 0.54: `Multiprocess.run` returns normally, and `uvicorn.run` exits with its start-up
failure code 3 only for a single worker). An orchestrator reads 0 as an intended stop, so a broken
configuration would not look like a failure. This launcher:
- refuses up front, before any worker starts, what the workers would refuse, with the message that
  says what to set: settings invalid in themselves (exit code 1, as `api.main` exits), more than
  one worker without Postgres and Redis, or a SQLite file another Lex process already serves
  (exit code 3);
- runs uvicorn's supervisor itself and, once it returns, exits 3 when one of its workers failed to
  start. That reads `Multiprocess.processes` and their exit codes, attributes of uvicorn's rather
  than a documented API: a deliberate reliance, pinned by the scale-out tests, so an upgrade that
  renames them fails a test instead of exiting 0 again.

The module imports only uvicorn (and `api.worker_sockets`, which imports only uvicorn) at the top:
uvicorn starts workers with `spawn`, and each worker imports this (the main) module again before it
can answer the supervisor's health pings, which it must do within a few seconds or be killed and
restarted. The settings and the application are imported where they are used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from api.worker_sockets import (
    AddressInUse,
    PerWorkerSockets,
    bind_worker_sockets,
    reuse_port_spreads,
)

APP = "api.main:app"
DEFAULT_HOST = "127.0.0.1"
INVALID_SETTINGS = 1
"""Exit code for settings invalid in themselves, as `api.main` exits with them."""
UVICORN_LOG_LEVELS = frozenset({"critical", "error", "warning", "info", "debug", "trace"})


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser of the launcher's options."""
    parser = argparse.ArgumentParser(
        prog="python -m api.serve",
        description="Run Lex's HTTP service. Settings come from the environment and .env. Exit "
        "code 1: invalid settings; 3: the service cannot start (e.g. WORKERS above 1 on SQLite, "
        "or a worker failing at start-up).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=None, help="port (default: $PORT or 8000)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: $WORKERS or 1)"
    )
    parser.add_argument(
        "--limit-concurrency",
        type=int,
        default=None,
        help="connections at once; past them new ones get 503",
    )
    parser.add_argument(
        "--timeout-keep-alive", type=int, default=5, help="seconds an idle connection is kept"
    )
    parser.add_argument(
        "--log-level", default=None, help="uvicorn's log level (default: LOG_LEVEL)"
    )
    return parser


class StartRefused(Exception):
    """The settings cannot work; the message says what to change.

    Attributes:
        exit_code: 1 for settings that are invalid in themselves (as `api.main` exits), 3 for
            settings refused for this launch (several workers on storage only one may use, an
            address already served).
    """

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Launch:
    """What the settings say about starting the service.

    Attributes:
        workers: Worker processes.
        port: Port to listen on.
        log_level: The service's log level.
    """

    workers: int
    port: int
    log_level: str


def preflight(workers: int | None) -> Launch:
    """Checks what a worker would refuse at start-up, before any worker starts.

    Args:
        workers: Worker processes asked for on the command line; None: the `WORKERS` setting.

    Raises:
        StartRefused: With the settings to change.
    """
    from api.app import scales_out, single_process_lock_for
    from api.process_lock import SingleProcessOnly, check_workers
    from api.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        raise StartRefused(str(error), INVALID_SETTINGS) from None
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    try:
        shared = scales_out(settings)
        check_workers(settings.workers, shared=shared)
        if not shared:
            with single_process_lock_for(settings):
                pass  # free again at once: the worker holds it for as long as it runs
    except SingleProcessOnly as error:
        raise StartRefused(str(error), STARTUP_FAILURE) from None
    return Launch(settings.workers, settings.port, settings.log_level)


def serve(config: uvicorn.Config) -> int:
    """Runs uvicorn with `config` until it stops; returns 0, or 3 when a worker did not start.

    Several workers get a listening socket each where the kernel spreads connections over them
    (`api.worker_sockets`), else uvicorn's one shared socket.

    Raises:
        StartRefused: The address is served already (several workers).
    """
    if config.workers <= 1:
        server = uvicorn.Server(config)
        server.run()  # raises SystemExit(3) itself when the application fails to start
        return 0 if server.started else STARTUP_FAILURE
    supervisor: Multiprocess
    if reuse_port_spreads():
        try:
            sockets = bind_worker_sockets(config, config.workers)
        except AddressInUse as error:
            raise StartRefused(str(error), STARTUP_FAILURE) from None
        supervisor = PerWorkerSockets(config, sockets)
    else:
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def uvicorn_log_level(level: str) -> str | None:
    """Returns `level` as uvicorn names it, or None (its default) when uvicorn has no such level."""
    lowered = level.lower()
    return lowered if lowered in UVICORN_LOG_LEVELS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Checks the settings, then serves until stopped; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        launch = preflight(args.workers)
    except StartRefused as error:
        sys.stderr.write(f"Lex cannot start: {error}\n")
        return error.exit_code
    # The workers read their settings afresh: they must count the workers this check counted.
    os.environ["WORKERS"] = str(launch.workers)
    config = uvicorn.Config(
        APP,
        host=args.host,
        port=args.port if args.port is not None else launch.port,
        workers=launch.workers,
        limit_concurrency=args.limit_concurrency,
        timeout_keep_alive=args.timeout_keep_alive,
        log_level=uvicorn_log_level(args.log_level or launch.log_level),
        # Lex reads X-Forwarded-For itself, from TRUSTED_PROXIES only; uvicorn would believe any
        # local client's, which lets it pick the address its rate limit and session binding see.
        proxy_headers=False,
    )
    try:
        code = serve(config)
    except StartRefused as error:
        sys.stderr.write(f"Lex cannot start: {error}\n")
        return error.exit_code
    if code != 0:
        sys.stderr.write("Lex cannot start: a worker failed to start (see the messages above)\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
