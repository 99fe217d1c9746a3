"""One listening socket per worker (`SO_REUSEPORT`), so Linux spreads connections over the workers.

Why: uvicorn's supervisor binds one socket and every worker accepts from it. The worker that wakes
first accepts every connection waiting (uvloop accepts until the queue is empty), so a burst of
connections lands mostly on one worker, and keep-alive connections stay where they landed. Measured
with 50 clients connecting at once to two workers: 38/12 and 18/32 connections, and the busier
worker bounded the throughput while the other had CPU to spare. Here the launcher binds one socket
per worker on the same address, each with `SO_REUSEPORT`; the kernel picks one of the listening
sockets for each new connection by a hash of its addresses and ports, so every worker gets its
share whichever is awake first.

Each worker slot keeps its socket for the launcher's life: a worker started again after dying (or
after `SIGHUP`) gets the same socket, which the launcher holds open in between, so connections
queued for a dead worker wait for its successor instead of being reset. The price: while a worker
is down, its share of new connections waits (a few seconds of start-up) instead of going to the
others.

A deliberate reliance on uvicorn's internals: `PerWorkerSockets` overrides the methods of uvicorn's
`Multiprocess` that start workers (`init_processes`, `keep_subprocess_alive`, `restart_all`,
`handle_ttin`, `handle_ttou`) to give each its own socket, following their uvicorn 0.54 code.
`tests/api/test_worker_sockets.py` and `tests/e2e/test_scale_out.py` pin what they must do (a
socket each, a dead worker started again on its socket, a worker added and removed), so an upgrade
that changes them fails a test; `restart_all` is uvicorn's with the slot's socket, untested here:
uvicorn gives the new worker 5 s to be ready and keeps the old one otherwise, which a loaded test
machine decides. Elsewhere than Linux, where `SO_REUSEPORT` does not spread
connections, the launcher keeps uvicorn's shared socket (`reuse_port_spreads`).
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("uvicorn.error")
"""uvicorn's start-up logger: the address line belongs beside uvicorn's own start-up lines."""


class AddressInUse(Exception):
    """The address is already served (another Lex, or any other server); the message says which."""


def reuse_port_spreads() -> bool:
    """Whether sockets sharing a port with `SO_REUSEPORT` share its connections (Linux only)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn's `bind_socket`


def _check_free(host: str, port: int) -> None:
    """Raises AddressInUse when something listens on the address already.

    The workers' own sockets would join any other `SO_REUSEPORT` group on the address (a second
    Lex launched on the same port) and silently take a share of its connections; a plain bind is
    refused by a listening socket, as uvicorn's single socket is.
    """
    if port == 0:
        return
    probe = socket.socket(family=_family(host))
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as error:
        raise AddressInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None
    finally:
        probe.close()


def _bind_reuse_port(host: str, port: int) -> socket.socket:
    sock = socket.socket(family=_family(host))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise AddressInUse(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


def bind_worker_sockets(config: Config, count: int) -> list[socket.socket]:
    """Binds `count` sockets to the configured host and port, each with `SO_REUSEPORT`.

    The workers listen on them (uvicorn's server calls `listen` on the socket it is given). With
    port 0 the first socket's port is used for the others.

    Raises:
        AddressInUse: The address is served already, or cannot be bound.
    """
    host, port = config.host, config.port
    _check_free(host, port)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_bind_reuse_port(host, port))
            port = sockets[0].getsockname()[1]
    except AddressInUse:
        for sock in sockets:
            sock.close()
        raise
    scheme = "https" if config.is_ssl else "http"
    shown = f"[{host}]" if ":" in host else host
    logger.info("Lex listening on %s://%s:%d, a socket per worker", scheme, shown, port)
    return sockets


class PerWorkerSockets(Multiprocess):
    """uvicorn's supervisor, with each worker on a socket of its own.

    Args:
        config: The uvicorn configuration (`config.workers` workers).
        sockets: One bound socket per worker (`bind_worker_sockets`); slot `i` keeps socket `i`.
    """

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        if len(sockets) != config.workers:
            raise ValueError(f"{len(sockets)} sockets for {config.workers} workers")
        super().__init__(config, sockets)

    def _process(self, slot: int) -> Process:
        return Process(self.config, [self.sockets[slot]])

    def init_processes(self) -> None:
        """Starts a worker on each slot's socket."""
        for slot in range(self.processes_num):
            process = self._process(slot)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        """Replaces each worker by one on its socket, the new one serving before the old stops."""
        for slot, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._process(slot)
            new_process.start()
            ready = new_process.wait_until_ready(
                self.config.timeout_worker_healthcheck, self.should_exit
            )
            if not ready:
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    logger.error(
                        "New child process [%s] was not ready in time; keeping worker [%s] and "
                        "aborting the restart.",
                        new_process.pid,
                        old_process.pid,
                    )
                return
            old_process.terminate()
            old_process.join()
            self.processes[slot] = new_process

    def keep_subprocess_alive(self) -> None:
        """Starts a worker again on its slot's socket when it died or hangs (as uvicorn does)."""
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logger.error(
                    "Child process [%s] failed to start, stopping the parent process.", process.pid
                )
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info("Child process [%s] died", process.pid)
            replacement = self._process(slot)
            replacement.start()
            self.processes[slot] = replacement

    def handle_ttin(self) -> None:
        """One more worker, on a socket of its own."""
        logger.info("Received SIGTTIN, increasing the number of processes.")
        try:
            sock = _bind_reuse_port(self.config.host, self.sockets[0].getsockname()[1])
        except AddressInUse as error:
            logger.error("no worker added: %s", error)
            return
        self.sockets.append(sock)
        self.processes_num += 1
        process = self._process(len(self.processes))
        process.start()
        self.processes.append(process)

    def handle_ttou(self) -> None:
        """One worker fewer; its socket is closed, so no connection waits for it."""
        logger.info("Received SIGTTOU, decreasing number of processes.")
        if self.processes_num <= 1:
            logger.info("Already reached one process, cannot decrease the number of processes.")
            return
        self.processes_num -= 1
        process = self.processes.pop()
        sock = self.sockets.pop()
        sock.close()  # the worker's copy goes as it stops: then the kernel leaves its socket out
        process.terminate()
        process.join()
