"""`ALLOWED_HOSTS` matching: names, wildcards, literal addresses, ranges, ports and brackets."""

from __future__ import annotations

import pytest

from api.hosts import HostRules, host_name
from api.settings import DEFAULT_ALLOWED_HOSTS


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8000", "localhost"),
        ("LEX.Example.COM", "lex.example.com"),
        ("lex.example.com.", "lex.example.com"),
        ("[::1]:8000", "[::1]"),
        ("[::1]", "[::1]"),
        ("127.0.0.1:65535", "127.0.0.1"),
    ],
)
def test_the_host_is_read_without_its_port(header: str, host: str) -> None:
    assert host_name(header) == host


@pytest.mark.parametrize(
    "header", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "[0:0::1]"]
)
def test_the_default_allows_this_machine_by_every_name(header: str) -> None:
    assert HostRules(DEFAULT_ALLOWED_HOSTS.split(",")).allows(header)


@pytest.mark.parametrize(
    "header",
    ["evil.example", "localhost.evil.example", "127.0.0.2", "10.0.0.1", "[::2]", "", None],
)
def test_the_default_refuses_other_hosts_and_a_missing_one(header: str | None) -> None:
    assert not HostRules(DEFAULT_ALLOWED_HOSTS.split(",")).allows(header)


def test_wildcards_and_ranges() -> None:
    rules = HostRules(["lex.example.com", "*.dealers.example", "10.0.0.0/8", "fd00::/8"])
    for allowed in ("lex.example.com:443", "miami.dealers.example", "10.1.2.3:8000", "[fd00::7]"):
        assert rules.allows(allowed), allowed
    for refused in ("dealers.example", "example.com", "11.0.0.1", "localhost", "[fe80::1]"):
        assert not rules.allows(refused), refused


def test_a_star_allows_any_host() -> None:
    assert HostRules(["*"]).allows("anything.example") and HostRules(["*"]).allows(None)
