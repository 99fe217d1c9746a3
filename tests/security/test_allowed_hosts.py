"""DNS rebinding: a page on another site whose name points at 127.0.0.1 gets nothing from Lex.

Its requests reach the loopback port like the customer's own, but their `Host` names the other
site, which is not in `ALLOWED_HOSTS`: refused with a JSON 400 before any route runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.security.attacks import BROWSER_UA, ask
from tests.support.app_server import OPERATOR, ServerFactory
from tests.support.metrics import moved, scrape
from tests.support.scripted_model import ScriptedChatModel, text

REBOUND = "rebound.evil.example"


def rebound(base_url: str) -> dict[str, str]:
    """What a browser sends from the rebinding page: its own name, with the loopback port."""
    port = urlsplit(base_url).port
    return {"Host": f"{REBOUND}:{port}", "Origin": f"http://{REBOUND}:{port}"}


def test_a_rebound_host_is_refused_before_any_route_runs(lex_server: ServerFactory) -> None:
    model = ScriptedChatModel(script=[text("Hi.")] * 3)
    with lex_server(chat_model=model) as base_url:
        before = scrape(base_url)
        headers = {**rebound(base_url), "User-Agent": BROWSER_UA}
        query = ask(base_url, "hello", "rebinding", headers)
        health = httpx.get(f"{base_url}/health", headers=headers, timeout=10)
        page = httpx.get(f"{base_url}/", headers={**headers, "Accept": "text/html"}, timeout=10)
        operator = httpx.get(f"{base_url}/sessions", headers={**headers, **OPERATOR}, timeout=10)
        after = scrape(base_url)
    for response in (query, health, page, operator):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_host"
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-request-id"]
    assert model.received == []
    assert moved(before, after, "lex_http_requests_total", status="400") == 4


def test_this_machine_is_served_by_every_name(lex_server: ServerFactory) -> None:
    with lex_server() as base_url:
        port = urlsplit(base_url).port
        statuses = [
            httpx.get(f"{base_url}/health", headers={"Host": host}, timeout=10).status_code
            for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost")
        ]
    assert statuses == [200] * 4


def test_a_deployment_names_its_hosts_and_a_star_turns_the_check_off(
    lex_server: ServerFactory,
) -> None:
    hosts = "lex.example.com,*.dealers.example,10.0.0.0/8"
    with lex_server(allowed_hosts=hosts) as base_url:
        status = {
            host: httpx.get(f"{base_url}/health", headers={"Host": host}, timeout=10).status_code
            for host in ("lex.example.com", "miami.dealers.example", "10.0.3.7:8000", "localhost")
        }
    with lex_server(allowed_hosts="*") as base_url:
        anything = httpx.get(f"{base_url}/health", headers={"Host": REBOUND}, timeout=10)
    assert status == {
        "lex.example.com": 200,
        "miami.dealers.example": 200,
        "10.0.3.7:8000": 200,
        "localhost": 400,
    }
    assert anything.status_code == 200
