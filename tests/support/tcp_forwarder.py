"""A TCP port in front of a real server that can make that server look stopped or frozen.

An outage test cannot stop a shared engine, and stopping a private one frees its port for another
test to take before the restart. The forwarder keeps its own listening socket for the whole test
and only changes what it does with connections: forward them, drop them (a server stopped or
restarting: every connection closed, new ones closed at once) or hold them (a frozen server:
connections open, nothing answered).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Literal
from urllib.parse import urlsplit, urlunsplit

Mode = Literal["forward", "drop", "hold"]

POLL_S: Final = 0.05
CHUNK: Final = 65536


class TcpForwarder:
    """Forwards a loopback port to `upstream` until told to drop or hold connections.

    Args:
        upstream: The real server's (host, port).

    Attributes:
        accepted: Connections accepted so far, in every mode.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self._mode: Mode = "forward"
        self.accepted = 0
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True, name="tcp-forwarder")
        self._acceptor.start()

    def url(self, server_url: str) -> str:
        """Returns `server_url` (any scheme) with its host and port replaced by this forwarder's."""
        parts = urlsplit(server_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def forward(self) -> None:
        """Forwards again: the server is back (a held connection resumes where it stopped)."""
        self._mode = "forward"

    def drop(self) -> None:
        """Closes every connection and each new one at once, as a stopped server does."""
        with self._lock:
            self._mode = "drop"
            links, self._links = self._links, set()
        for link in links:
            link.close()

    def hold(self) -> None:
        """Keeps every connection open but passes nothing on, as a frozen server does."""
        self._mode = "hold"

    def close(self) -> None:
        """Stops listening and closes every connection."""
        self._stopped.set()
        self._acceptor.join(timeout=5)
        self._listener.close()
        self.drop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._mode == "drop":
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            link = _Link(client, server, self)
            with self._lock:
                # A drop() while this connection was being made must close it too.
                dropped = self._mode == "drop"
                if not dropped:
                    self._links.add(link)
            if dropped:
                link.close()
                continue
            threading.Thread(target=link.pump, daemon=True, name="tcp-forwarder-link").start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


class _Link:
    """One client connection and its connection to the server."""

    def __init__(self, client: socket.socket, server: socket.socket, owner: TcpForwarder) -> None:
        self.client = client
        self.server = server
        self.owner = owner
        self._closed = threading.Event()
        self._peer = {client: server, server: client}

    def pump(self) -> None:
        """Copies bytes both ways while the forwarder forwards, until either side closes."""
        try:
            while not self._closed.is_set():
                if self.owner._mode != "forward":
                    self._closed.wait(POLL_S)
                    continue
                readable, _, _ = select.select([self.client, self.server], [], [], POLL_S)
                for sock in readable:
                    data = sock.recv(CHUNK)
                    if not data:
                        return
                    self._peer[sock].sendall(data)
        except OSError:
            return
        finally:
            self.close()
            self.owner._forget(self)
            for sock in (self.client, self.server):
                sock.close()  # only here: a socket closed under a select of another thread races

    def close(self) -> None:
        """Shuts both connections down; the pump thread notices, closes them and ends."""
        self._closed.set()
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def tcp_forwarder(server_url: str) -> Iterator[TcpForwarder]:
    """A forwarder to the server of `server_url` (host and port read from it); closed after."""
    parts = urlsplit(server_url)
    assert parts.hostname is not None and parts.port is not None, server_url
    forwarder = TcpForwarder((parts.hostname, parts.port))
    try:
        yield forwarder
    finally:
        forwarder.close()
