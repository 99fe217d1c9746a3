"""Which `Host` names the service answers for (`ALLOWED_HOSTS`): anything else gets a 400.

Also the address sets both `ALLOWED_HOSTS` and `TRUSTED_PROXIES` accept: addresses and ranges.

A page on another site can point its own host name at 127.0.0.1 (DNS rebinding) and then talk to
a Lex running on the visitor's machine as if it were its own origin; the `Host` it sends still
names that other site, so refusing unknown hosts stops it. Starlette's `TrustedHostMiddleware`
does the same for names, but answers in plain text and splits `[::1]:8000` at its first colon;
this one answers in the service's JSON error shape, reads bracketed IPv6 hosts, and also accepts
address ranges (`10.0.0.0/8`), for monitoring that reaches each replica by its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

ANY_HOST: Final = "*"
WILDCARD_PREFIX: Final = "*."
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def host_name(header: str) -> str:
    """Returns the host of a `Host` header without its port, lower-cased (`[::1]` kept whole)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit():
        value = name
    return value.removesuffix(".")


def ip_of(host: str) -> IpAddress | None:
    """Returns the address a host names literally (`127.0.0.1`, `[::1]`), else None."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


class AddressSet:
    """Addresses and address ranges (`10.0.0.0/8`); `in` tells whether an address is among them.

    Entries that are not addresses (a host name) match only the same text.

    Args:
        entries: Addresses, ranges or names.

    Raises:
        ValueError: An entry with a `/` that is no address range.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.addresses: set[IpAddress] = set()
        self.networks: list[IpNetwork] = []
        self.others: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            if "/" in entry:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            elif (address := ip_of(entry)) is not None:
                self.addresses.add(address)
            else:
                self.others.add(entry)

    def __contains__(self, text: object) -> bool:
        """Whether `text` is one of the addresses, in one of the ranges, or a listed name."""
        if not isinstance(text, str):
            return False
        address = ip_of(text.strip().lower())
        if address is None:
            return text.strip().lower() in self.others
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        return address in self.addresses or any(address in net for net in self.networks)


class HostRules:
    """The allowed hosts: names, `*.domain` wildcards, literal addresses and address ranges.

    Args:
        entries: The `ALLOWED_HOSTS` entries; `*` among them allows every host.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        cleaned = [entry.strip().lower() for entry in entries if entry.strip()]
        self.any = ANY_HOST in cleaned
        self.suffixes = [e[1:] for e in cleaned if e.startswith(WILDCARD_PREFIX)]  # ".example.com"
        self.known = AddressSet(
            e.removesuffix(".") for e in cleaned if e != ANY_HOST and not e.startswith("*")
        )

    def allows(self, header: str | None) -> bool:
        """Whether a request whose `Host` header is `header` may be served."""
        if self.any:
            return True
        if not header:
            return False
        host = host_name(header)
        if host in self.known:
            return True
        return ip_of(host) is None and any(host.endswith(suffix) for suffix in self.suffixes)


class AllowedHosts:
    """ASGI middleware: refuses requests for a host not in `ALLOWED_HOSTS` with a JSON 400.

    Args:
        app: The application it guards.
        allowed: The `ALLOWED_HOSTS` entries.
    """

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        self.rules = HostRules(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Passes requests for an allowed host on; answers 400 to the others."""
        if scope["type"] != "http" or self.rules.any:
            await self.app(scope, receive, send)
            return
        if self.rules.allows(Headers(scope=scope).get("host")):
            await self.app(scope, receive, send)
            return
        response = error_response(
            400,
            "invalid_host",
            "This server does not answer for the host this request names (the Host header); "
            "its operator lists the served names in ALLOWED_HOSTS.",
        )
        await response(scope, receive, send)
