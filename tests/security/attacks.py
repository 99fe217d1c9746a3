"""What the attack tests share: a victim's session made the way each client makes one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.sse import SseEvent, parse_sse

FRONTEND_ORIGIN = "http://localhost:3000"
EVIL_ORIGIN = "https://evil.example"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
FRONTEND_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream",
    "Origin": FRONTEND_ORIGIN,
    "User-Agent": BROWSER_UA,
}
"""Exactly what the provided chat frontend's fetch sends (plus the browser's own headers)."""
ATTACKER_HEADERS = {"User-Agent": "curl/8.5.0"}
BOOK_GT = "Book a test drive of the SuperCar GT at Miami on 2026-11-26 at 10:00"
SECRET_TEXT = "Hi, I'm Alice Smith, phone +1 305 555 0199"


@dataclass(frozen=True)
class OwnedSession:
    """A session made by `POST /sessions`, as the page and the terminal client make them."""

    session_id: str
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def create_session(base_url: str) -> OwnedSession:
    response = httpx.post(f"{base_url}/sessions", timeout=10)
    assert response.status_code == 201, response.text
    body = response.json()
    return OwnedSession(body["session_id"], body["secret"])


def ask(
    base_url: str,
    query: str,
    session_id: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {"query": query, "session_id": session_id, "stream_format": "json", **extra}
    return httpx.post(f"{base_url}/query", json=body, headers=headers or {}, timeout=30)


def events(response: httpx.Response) -> list[SseEvent]:
    assert response.status_code == 200, response.text
    return parse_sse(response.text)


def card(response: httpx.Response, tool: str) -> Any:
    outputs = [e.json() for e in events(response) if e.event == "tool_output"]
    return next(o["output"] for o in outputs if o["name"] == tool)
