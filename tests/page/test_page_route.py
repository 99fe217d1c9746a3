"""`GET /` serves the chat page to browsers and keeps the status JSON for every other client."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.routes import turns
from api.routes.page import page_features, prefers_html, status_document
from tests.page.conftest import ServerFactory

CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (CHROME_ACCEPT, True),
        ("text/html", True),
        (None, False),
        ("*/*", False),  # curl, httpx: scripts keep the JSON they had
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=oops", False),
    ],
)
def test_only_clients_that_ask_for_html_get_the_page(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_browsers_get_the_page_and_scripts_get_the_status(lex_server: ServerFactory) -> None:
    with lex_server() as url:
        page = httpx.get(f"{url}/", headers={"Accept": CHROME_ACCEPT})
        status = httpx.get(f"{url}/")
        script = httpx.get(f"{url}/static/app.js")
        missing = httpx.get(f"{url}/static/nothing.js")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Vary" in page.headers and "Accept" in page.headers["vary"]
    assert '<script type="module" src="static/app.js"></script>' in page.text
    assert "https://" not in page.text and "http://" not in page.text  # works offline

    assert status.headers["content-type"] == "application/json"
    assert "Accept" in status.headers["vary"]
    assert status.json()["status"] == "ok"
    assert "model" not in status.json()  # which model answers is for the operator (/health)
    assert status.json()["features"] == {
        "sessions": "POST /sessions",
        "session_detail": "GET /sessions/{session_id}",
        "replay": "GET /sessions/{session_id}/replay",
        "cancel": "POST /sessions/{session_id}/cancel",
        "rejoin": "GET /sessions/{session_id}/stream",
    }

    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_the_status_lists_only_the_features_whose_routes_the_app_has() -> None:
    app = FastAPI()
    app.include_router(turns.router)  # the running turns' routes, without the saved sessions'

    assert page_features(app.openapi()) == {
        "cancel": "POST /sessions/{session_id}/cancel",
        "rejoin": "GET /sessions/{session_id}/stream",
    }
    assert status_document(FastAPI().openapi())["features"] == {}
