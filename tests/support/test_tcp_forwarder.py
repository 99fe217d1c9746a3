"""The forwarder the outage tests stand between Lex and its stores: forwards, drops, holds."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.tcp_forwarder import TcpForwarder, tcp_forwarder


@pytest.fixture
def echo_url() -> Iterator[str]:
    """A loopback server that sends back every byte it gets."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def connect(forwarder: TcpForwarder) -> socket.socket:
    return socket.create_connection(("127.0.0.1", forwarder.port), timeout=2)


def test_forwarded_bytes_come_back(echo_url: str) -> None:
    with tcp_forwarder(echo_url) as forwarder, connect(forwarder) as conn:
        conn.sendall(b"ping")
        assert conn.recv(16) == b"ping"


def test_drop_closes_open_connections_and_new_ones_on_the_same_port(echo_url: str) -> None:
    with tcp_forwarder(echo_url) as forwarder:
        port = forwarder.port
        with connect(forwarder) as before:
            forwarder.drop()
            assert before.recv(16) == b""  # closed by the "server"
        with connect(forwarder) as during:
            assert during.recv(16) == b""
        forwarder.forward()
        assert forwarder.port == port
        with connect(forwarder) as after:
            after.sendall(b"back")
            assert after.recv(16) == b"back"
        assert forwarder.accepted == 3


def test_hold_keeps_connections_open_but_silent_until_forwarding_resumes(echo_url: str) -> None:
    with tcp_forwarder(echo_url) as forwarder, connect(forwarder) as conn:
        forwarder.hold()
        conn.settimeout(0.3)
        conn.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            conn.recv(16)
        forwarder.forward()
        conn.settimeout(2)
        assert conn.recv(16) == b"anyone?"


def test_url_keeps_scheme_credentials_path_and_query() -> None:
    forwarder = TcpForwarder(("127.0.0.1", 1))
    try:
        url = forwarder.url(
            "postgresql://postgres:pw@127.0.0.1:5432/test?options=-csearch_path%3Dx"
        )
        assert url == (
            f"postgresql://postgres:pw@127.0.0.1:{forwarder.port}/test?options=-csearch_path%3Dx"
        )
    finally:
        forwarder.close()
