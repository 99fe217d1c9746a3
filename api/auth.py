"""Who may act on a conversation: its secret's holder, the operator, or (unowned) only its client.

Three kinds of caller reach a session:
- the holder of the session's secret (`POST /sessions` hands it out once; only its hash is kept);
- the operator, with `ADMIN_TOKEN`, accepted wherever a session secret is;
- a client that never created a session (the provided chat frontend sends only `{query,
  session_id}`): its history is kept under a keyed hash of the id and the client's binding (origin,
  user agent, address), so the same id sent by anyone else is a different, empty conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Container
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from starlette.requests import HTTPConnection

from api.errors import ApiError

BEARER: Final = "bearer"
BOUND_KEY_PREFIX: Final = "b-"
"""Prefix of a client-bound conversation key; never the start of a server-made session id."""
OWNED_ID_PREFIX: Final = "s-"
"""Prefix of the ids `POST /sessions` makes."""
BOUND_KEY_HEX_CHARS: Final = 40
SECRET_BYTES: Final = 32
FORWARDED_FOR: Final = "x-forwarded-for"
UNAUTHORIZED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="lex"'}


class Role(StrEnum):
    """How a caller reached a conversation."""

    OPERATOR = "operator"
    OWNER = "owner"
    CLIENT = "client"


@dataclass(frozen=True)
class Conversation:
    """The conversation a request acts on.

    Attributes:
        session_id: The id the client sent (what it sees in answers).
        key: The key it is saved and run under: the session id for owned sessions and for the
            operator, a client-bound hash otherwise.
        role: How the caller reached it.
    """

    session_id: str
    key: str
    role: Role


@dataclass(frozen=True)
class ServerSecrets:
    """The server's own secrets, resolved at startup.

    Attributes:
        admin_token: The operator's token.
        binding_key: Key of the hash that binds an unowned session id to its client.
    """

    admin_token: str
    binding_key: str


def bearer_token(connection: HTTPConnection) -> str | None:
    """Returns the token of an `Authorization: Bearer` header, or None without one."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "Send the credential as Authorization: Bearer <token>.",
            headers=UNAUTHORIZED_HEADERS,
        )
    return token.strip()


def hash_secret(secret: str) -> str:
    """Returns the stored form of a session secret.

    The secrets are 256 random bits, so a plain SHA-256 is as strong as a slow password hash
    here, and costs nothing on every request.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Whether `secret` is the one whose hash was stored, compared in constant time."""
    if stored_hash is None:
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def is_admin(token: str | None, secrets_: ServerSecrets) -> bool:
    """Whether `token` is the operator's, compared in constant time."""
    return token is not None and hmac.compare_digest(token.encode(), secrets_.admin_token.encode())


def new_owned_session() -> tuple[str, str]:
    """Returns a fresh session id and its secret (both unguessable)."""
    return OWNED_ID_PREFIX + secrets.token_urlsafe(18), secrets.token_urlsafe(SECRET_BYTES)


def client_address(connection: HTTPConnection, trusted_proxies: Container[str]) -> str:
    """Returns the client's address: the peer, or what a trusted proxy says it forwarded for.

    Only the hops appended by trusted proxies are believed: walking X-Forwarded-For from the
    right, the first address that is not a trusted proxy is the client (anything left of it may
    have been written by the client itself). A hop may carry a port (`203.0.113.7:1234`,
    `[2001:db8::1]:443`, as some proxies write it), which is not part of the client; a hop that
    is no address at all (`unknown`) names nobody, so the peer is the client then.
    """
    raw_peer = connection.client.host if connection.client else ""
    peer = forwarded_address(raw_peer) or raw_peer
    if peer not in trusted_proxies:
        return peer
    hops = [hop.strip() for hop in connection.headers.get(FORWARDED_FOR, "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        address = forwarded_address(hop)
        if address is None:
            return peer
        if address not in trusted_proxies:
            return address
    return peer


IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is its /64: one host is handed a whole /64 and can use any address in it."""


def limited_client(connection: HTTPConnection, trusted_proxies: Container[str]) -> str:
    """Returns who the per-client limits count: the client's address, or its /64 for IPv6.

    Counted by full address, an IPv6 host would be a new client at each of its 2**64 addresses.
    """
    address = client_address(connection, trusted_proxies)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


def forwarded_address(text: str) -> str | None:
    """Returns the IP address `text` names, canonical, without port or brackets; else None.

    An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as a dual-stack socket reports an IPv4
    peer) is that IPv4 address.
    """
    host = text.strip().strip('"')
    if host.startswith("["):  # [2001:db8::1] or [2001:db8::1]:443
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # 203.0.113.7:1234 (an IPv6 address has two colons or more)
        host = host.partition(":")[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def client_binding(connection: HTTPConnection, trusted_proxies: Container[str]) -> str:
    """Returns what ties an unowned session to its client: origin, user agent and address."""
    headers = connection.headers
    parts = (
        headers.get("origin", ""),
        headers.get("user-agent", ""),
        client_address(connection, trusted_proxies),
    )
    return "\n".join(parts)


def bound_key(session_id: str, binding: str, binding_key: str) -> str:
    """Returns the key an unowned session is saved under for this client.

    A keyed hash: nobody without the server's key can compute another client's key, so nobody
    can plant a history in a future session id or read one by guessing ids.
    """
    digest = hmac.new(
        binding_key.encode(), f"{session_id}\n{binding}".encode(), hashlib.sha256
    ).hexdigest()
    return BOUND_KEY_PREFIX + digest[:BOUND_KEY_HEX_CHARS]
