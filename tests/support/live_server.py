"""A real uvicorn server on a loopback port, for tests where streaming timing or disconnects matter.

httpx's in-process ASGI transport buffers whole responses, so it cannot show tokens arriving or a
client going away mid-stream.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

PORTS_BELOW_EPHEMERAL = (10_000, 32_000)
"""Where test servers listen: below Linux's ephemeral range (32768-60999 by default).

A port the kernel hands out for `bind(0)` comes from the ephemeral range, the same range every
outgoing connection (to Postgres, Redis, a test server) takes its local port from: between the
moment a test picks a port and the moment its server binds it, any connection of the other test
process could take it ("address already in use"). Here each test process (pytest-xdist worker)
walks its own slice of a range no outgoing connection uses, so two picks never meet.
"""
_next_port: dict[str, int] = {}


def free_port() -> int:
    """Returns a TCP port free on 127.0.0.1 now, which no other test process will pick."""
    low, high = PORTS_BELOW_EPHEMERAL
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    slices = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    width = (high - low) // max(slices, index + 1)
    start = low + index * width
    for _ in range(width):
        port = _next_port.get(worker, start + os.getpid() % width)
        _next_port[worker] = start + (port + 1 - start) % width
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # something listens there (or lingers): the next one
            return port
    raise RuntimeError(f"no free port in {start}-{start + width - 1}")


@contextmanager
def serve(app: FastAPI, *, startup_timeout_s: float = 20.0) -> Iterator[str]:
    """Runs `app` (lifespan included) in a background thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
