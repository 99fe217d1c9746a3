"""Attacks from a malicious web page: CORS on the public routes only, nothing cross-site else."""

from __future__ import annotations

import httpx
import pytest

from tests.security.attacks import (
    EVIL_ORIGIN,
    FRONTEND_ORIGIN,
    SECRET_TEXT,
    ask,
    create_session,
    events,
)
from tests.support.app_server import OPERATOR, ServerFactory


def preflight(base_url: str, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(
        f"{base_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


def test_the_frontend_origin_may_post_queries_and_no_other_origin_may(lex_url: str) -> None:
    allowed = preflight(lex_url, "/query", FRONTEND_ORIGIN)
    refused = preflight(lex_url, "/query", EVIL_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == FRONTEND_ORIGIN
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/sessions", "GET"),
        ("/sessions/x", "GET"),
        ("/sessions/x", "DELETE"),
        ("/sessions/x/cancel", "POST"),
    ],
)
def test_session_routes_answer_no_preflight_even_from_allowed_origins(
    lex_url: str, path: str, method: str
) -> None:
    for origin in (FRONTEND_ORIGIN, EVIL_ORIGIN):
        response = preflight(lex_url, path, origin, method)
        assert "access-control-allow-origin" not in response.headers


def test_a_cross_site_request_cannot_stop_or_delete_even_with_a_credential(
    lex_server: ServerFactory,
) -> None:
    with lex_server(offline_token_delay_s=0.05) as base_url:
        victim = create_session(base_url)
        events(ask(base_url, SECRET_TEXT, victim.session_id, victim.auth))
        cross_site = {"Origin": EVIL_ORIGIN, "Sec-Fetch-Site": "cross-site"}
        # A form post needs no preflight: it must still be refused before the route runs.
        cancel = httpx.post(
            f"{base_url}/sessions/{victim.session_id}/cancel",
            headers={**cross_site, **OPERATOR},
            timeout=10,
        )
        delete = httpx.delete(
            f"{base_url}/sessions/{victim.session_id}",
            headers={**cross_site, **victim.auth},
            timeout=10,
        )
        listing = httpx.get(
            f"{base_url}/sessions", headers={"Origin": EVIL_ORIGIN, **OPERATOR}, timeout=10
        )
        still = httpx.get(
            f"{base_url}/sessions/{victim.session_id}", headers=victim.auth, timeout=10
        )
    assert cancel.status_code == 403 and delete.status_code == 403 and listing.status_code == 403
    assert "access-control-allow-origin" not in listing.headers
    assert still.status_code == 200 and "Alice" in still.text


def test_a_same_origin_fetch_is_believed_even_when_a_proxy_changed_the_host(lex_url: str) -> None:
    """Behind a proxy that drops the port from Host, the browser's Sec-Fetch-Site still decides."""
    behind_proxy = {"Host": "localhost", "Origin": "http://localhost:8080"}
    same = httpx.post(
        f"{lex_url}/sessions", headers={**behind_proxy, "Sec-Fetch-Site": "same-origin"}, timeout=10
    )
    cross = httpx.post(
        f"{lex_url}/sessions", headers={**behind_proxy, "Sec-Fetch-Site": "cross-site"}, timeout=10
    )
    assert same.status_code == 201
    assert cross.status_code == 403
