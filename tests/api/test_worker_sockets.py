"""A listening socket per worker: one port, connections spread by the kernel, never shared twice.

In-process, on loopback sockets: the launcher's binding alone. The workers themselves, each on its
socket and started again on it, are run by `tests/e2e/test_scale_out.py`.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest
import uvicorn

from api.worker_sockets import (
    AddressInUse,
    PerWorkerSockets,
    bind_worker_sockets,
    reuse_port_spreads,
)
from tests.support.live_server import free_port

pytestmark = pytest.mark.skipif(
    not reuse_port_spreads(), reason="SO_REUSEPORT spreads connections on Linux only"
)
CLIENTS = 64


def config(port: int, workers: int = 2) -> uvicorn.Config:
    return uvicorn.Config("api.main:app", host="127.0.0.1", port=port, workers=workers)


@pytest.fixture
def bound() -> Iterator[list[socket.socket]]:
    """Two worker sockets on a free port, listening as the workers make them."""
    sockets = bind_worker_sockets(config(free_port()), 2)
    for sock in sockets:
        sock.listen(CLIENTS)
    yield sockets
    for sock in sockets:
        sock.close()


def test_each_worker_gets_a_socket_of_its_own_on_the_one_port() -> None:
    port = free_port()
    sockets = bind_worker_sockets(config(port, workers=3), 3)
    try:
        assert len({sock.fileno() for sock in sockets}) == 3
        assert {sock.getsockname() for sock in sockets} == {("127.0.0.1", port)}
        for sock in sockets:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.get_inheritable()  # the workers are spawned with them
    finally:
        for sock in sockets:
            sock.close()


def test_port_zero_puts_every_socket_on_the_port_the_first_got() -> None:
    sockets = bind_worker_sockets(config(0), 2)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and ports != {0}
    finally:
        for sock in sockets:
            sock.close()


def test_connections_are_spread_over_the_sockets(bound: list[socket.socket]) -> None:
    port = bound[0].getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CLIENTS)]
    try:
        accepted = [0, 0]
        for index, sock in enumerate(bound):
            sock.setblocking(False)
            while select.select([sock], [], [], 0.5)[0]:
                connection, _ = sock.accept()
                connection.close()
                accepted[index] += 1
        # Each connection goes to one socket by a hash of its ports: all 64 on one socket has a
        # chance of 2**-63. With one shared socket, whoever accepts first takes them all.
        assert sum(accepted) == CLIENTS
        assert min(accepted) > 0, accepted
    finally:
        for client in clients:
            client.close()


def test_an_address_another_server_listens_on_is_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        with pytest.raises(AddressInUse, match=f"cannot listen on 127.0.0.1:{port}"):
            bind_worker_sockets(config(port), 2)


def test_a_second_lex_on_the_same_port_is_refused_instead_of_sharing_it(
    bound: list[socket.socket],
) -> None:
    # Its sockets would join the first one's group and take a share of its connections.
    port = bound[0].getsockname()[1]
    with pytest.raises(AddressInUse):
        bind_worker_sockets(config(port), 2)


def test_the_supervisor_needs_a_socket_for_every_worker(bound: list[socket.socket]) -> None:
    with pytest.raises(ValueError, match="2 sockets for 3 workers"):
        PerWorkerSockets(config(bound[0].getsockname()[1], workers=3), bound)
