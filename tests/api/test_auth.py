"""Who a request comes from: the forwarded client behind trusted proxies, and who limits count."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.auth import client_address, limited_client
from api.hosts import AddressSet

PROXIES = AddressSet(["127.0.0.1", "10.0.0.0/8"])


def request_from(peer: str, forwarded_for: str | None = None) -> Request:
    headers = [] if forwarded_for is None else [(b"x-forwarded-for", forwarded_for.encode())]
    return Request({"type": "http", "client": (peer, 50000), "headers": headers})


@pytest.mark.parametrize(
    ("hop", "client"),
    [
        ("203.0.113.50", "203.0.113.50"),
        ("203.0.113.50:1234", "203.0.113.50"),  # a proxy that writes the source port
        ("[2001:db8:9::1]:443", "2001:db8:9::1"),
        ("[2001:DB8:9::1]", "2001:db8:9::1"),
        ("2001:db8:9::1", "2001:db8:9::1"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", "10.0.0.5"),  # names nobody: the peer is the client
        ("203.0.113.7, 10.1.2.3", "203.0.113.7"),  # a second trusted hop is skipped
    ],
)
def test_a_forwarded_hop_names_the_client_without_port_or_brackets(hop: str, client: str) -> None:
    assert client_address(request_from("10.0.0.5", hop), PROXIES) == client


def test_a_proxy_seen_through_a_dual_stack_socket_is_still_trusted() -> None:
    request = request_from("::ffff:10.0.0.5", "198.51.100.7")
    assert client_address(request, PROXIES) == "198.51.100.7"


def test_an_untrusted_peer_cannot_name_another_client() -> None:
    assert client_address(request_from("198.51.100.7", "203.0.113.50"), PROXIES) == "198.51.100.7"


@pytest.mark.parametrize(
    ("hop", "counted_as"),
    [
        ("203.0.113.50:1234", "203.0.113.50"),
        ("203.0.113.50:1235", "203.0.113.50"),  # another source port is the same client
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2:ffff::9]:443", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_the_limits_count_a_client_by_address_and_an_ipv6_client_by_its_64(
    hop: str, counted_as: str
) -> None:
    assert limited_client(request_from("127.0.0.1", hop), PROXIES) == counted_as
