"""The `langgraph dev` that `lex studio` starts: on loopback, for Studio's origin only, offline.

It listens on 127.0.0.1 (never another interface) and answers cross-origin requests only from
Studio's web app. The project's `langgraph.json` allows `https://smith.langchain.com` (`http.cors`);
`lex studio` serves a copy of it written into its private folder, with every path made absolute
and `http.cors` naming the `--studio-url` it was given, and runs the server in that folder, so what
the server keeps of its own (`.langgraph_api/`: threads, runs, their values) goes with the folder.
`CORS_CONFIG` and `CORS_ALLOW_ORIGINS`, which langgraph-api would read before `http.cors`, are
left out of its environment; a `.env` could still set them, so once the server answers, a
preflight from a foreign origin must be refused or the server is stopped before serving anything.
It runs offline (no browser, no tunnel, no version check, no CLI analytics, no tracing) and, on
Linux, is stopped by the kernel if `lex studio` dies without stopping it (a parent-death signal).
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from api.cli.common import CliError

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
DEFAULT_STUDIO_URL: Final = "https://smith.langchain.com"
FOREIGN_ORIGIN: Final = "https://foreign-origin.invalid"
"""An origin no Studio lives at: the dev server must refuse it."""
CORS_ENVS: Final = ("CORS_CONFIG", "CORS_ALLOW_ORIGINS")
"""langgraph-api's CORS variables, which win over `http.cors`; never passed to the server."""
SERVED_CONFIG: Final = "langgraph.json"
PAGINATION_HEADERS: Final = ("x-pagination-total", "x-pagination-next", "content-location")
"""Response headers Studio reads (langgraph-api exposes them by default)."""
READY_TIMEOUT_S: Final = 60.0
STOP_TIMEOUT_S: Final = 10.0
PROBE_TIMEOUT_S: Final = 5.0
LOG_TAIL_LINES: Final = 20
OFFLINE_DEV_ENV: Final = {
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
}
"""Keeps `langgraph dev` from reaching out: no version check, no analytics, no tracing."""
PR_SET_PDEATHSIG: Final = 1
OWNER_ONLY_FILE: Final = 0o600


def studio_origin(studio_url: str) -> str:
    """Returns the origin (scheme, host, port) of Studio's web app.

    Raises:
        CliError: for anything but an http(s) URL with a host.
    """
    parts = urlsplit(studio_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CliError(f"--studio-url must be an http(s) URL, got {studio_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def cors_config(origin: str) -> dict[str, Any]:
    """The CORS settings of langgraph-api by default, with `origin` the only one allowed."""
    return {
        "allow_origins": [origin],
        "allow_methods": ["*"],
        "allow_headers": ["*"],
        "allow_credentials": True,
        "expose_headers": list(PAGINATION_HEADERS),
    }


def free_loopback_port() -> int:
    """A port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_taken(port: int) -> bool:
    """Whether something accepts connections on this loopback port."""
    try:
        with socket.create_connection((LOOPBACK, port), 1.0):
            return True
    except OSError:
        return False


def server_url(port: int) -> str:
    """The dev server's base URL."""
    return f"http://{LOOPBACK}:{port}"


def dev_server_command(config: Path, port: int) -> list[str]:
    """Returns the `langgraph dev` command line serving `config` on a loopback port, offline."""
    return [
        sys.executable,
        "-m",
        "langgraph_cli",
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--config",
        str(config),
    ]


def dev_server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The dev server's environment: `environ` without CORS overrides, offline."""
    return {
        **{name: value for name, value in environ.items() if name not in CORS_ENVS},
        **OFFLINE_DEV_ENV,
    }


def absolute_path(base: Path, path: str) -> str:
    """A path of the config file made absolute; anything else (a package name) unchanged."""
    return str((base / path).resolve()) if path.startswith(".") else path


def absolute_spec(base: Path, spec: str) -> str:
    """`./api/studio.py:make_graph` -> `<base>/api/studio.py:make_graph` (modules unchanged)."""
    path, colon, attribute = spec.partition(":")
    return f"{absolute_path(base, path)}{colon}{attribute}"


def write_served_config(config: Path, folder: Path, origin: str) -> Path:
    """Writes the `langgraph.json` to serve into `folder`: `config`, usable there, for `origin`.

    Args:
        config: The project's `langgraph.json` (or the one given with `--config`).
        folder: Where the server runs.
        origin: The only origin it answers cross-origin requests from.

    Raises:
        CliError: when `config` is not a JSON object.
    """
    base = config.parent
    try:
        served: dict[str, Any] = json.loads(config.read_text())
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {config}: {error}") from None
    if not isinstance(served, dict):
        raise CliError(f"{config} is not a langgraph.json")
    served["dependencies"] = [absolute_path(base, d) for d in served.get("dependencies", ["."])]
    served["graphs"] = {n: absolute_spec(base, s) for n, s in served.get("graphs", {}).items()}
    checkpointer = served.get("checkpointer")
    if isinstance(checkpointer, dict) and isinstance(checkpointer.get("path"), str):
        checkpointer["path"] = absolute_spec(base, checkpointer["path"])
    if isinstance(served.get("env"), str):
        served["env"] = str((base / served["env"]).resolve())
    served["http"] = {**(served.get("http") or {}), "cors": cors_config(origin)}
    path = folder / SERVED_CONFIG
    path.write_text(json.dumps(served, indent=2))
    return path


def die_with_parent() -> None:
    """In the child, before it runs: asks Linux to stop it when its parent dies (even SIGKILLed)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_dev_server(
    config: Path, port: int, environ: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Starts `langgraph dev` in the background, its output going to `log_path`.

    Args:
        config: The `langgraph.json` to serve (see `write_served_config`); the server runs in
            its folder.
        port: The loopback port to listen on.
        environ: Its environment (see `dev_server_environment`).
        log_path: File receiving its output.

    Raises:
        CliError: when langgraph-cli is not installed.
    """
    if importlib.util.find_spec("langgraph_cli") is None:  # a dev dependency
        raise CliError("langgraph dev is not installed: pip install -e '.[dev]'")
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OWNER_ONLY_FILE)
    with os.fdopen(descriptor, "ab") as log:
        return subprocess.Popen(
            dev_server_command(config, port),
            cwd=config.parent,
            env=dev_server_environment(environ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )


def log_tail(log_path: Path) -> str:
    """The last lines of the dev server's log, to explain a failure."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """Whether a LangGraph API server answers at `url`."""
    try:
        return httpx.get(f"{url}/ok", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float = READY_TIMEOUT_S
) -> None:
    """Returns once the dev server answers.

    Raises:
        CliError: when it exits or does not answer within `timeout_s` (with the end of its log).
    """
    deadline = time.monotonic() + timeout_s
    while not answers(url):
        if process.poll() is not None:
            raise CliError(
                f"langgraph dev exited with code {process.returncode}:\n{log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise CliError(
                f"langgraph dev did not answer within {timeout_s:.0f} s:\n{log_tail(log_path)}"
            )
        time.sleep(0.2)


def allowed_origin(url: str, origin: str) -> str | None:
    """The `Access-Control-Allow-Origin` a preflight from `origin` gets (None: refused)."""
    response = httpx.options(
        f"{url}/threads/search",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=PROBE_TIMEOUT_S,
    )
    allowed: str | None = response.headers.get("access-control-allow-origin")
    return allowed


def check_origins(url: str, origin: str) -> None:
    """Makes sure the dev server answers Studio's origin and refuses any other.

    Raises:
        CliError: when it does not (its environment or `.env` sets other CORS settings).
    """
    if allowed_origin(url, FOREIGN_ORIGIN) is not None:
        raise CliError(
            "langgraph dev answers cross-origin requests from any site (CORS_CONFIG or "
            "CORS_ALLOW_ORIGINS in .env?); not serving the session"
        )
    if allowed_origin(url, origin) != origin:
        raise CliError(f"langgraph dev does not answer Studio's origin {origin}; see .env")


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stops a child process: politely, then for good."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
