"""The chat page: `GET /` serves it to browsers, and its script and styles live under `/static`.

`GET /` answers two audiences. A browser (whose `Accept` prefers `text/html`) gets the page; every
other client (curl, httpx, monitors) keeps the status document the original backend answered here.
Both answers carry `Vary: Accept` so a cache never hands one audience the other's answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PATH = "/static"
PAGE_FILE = STATIC_DIR / "index.html"
HTML = "text/html"

router = APIRouter(tags=["page"])


def media_preferences(accept: str) -> dict[str, float]:
    """Parses an `Accept` header into media range -> quality (RFC 9110, section 12.5.1)."""
    preferences: dict[str, float] = {}
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        preferences[media_range.lower()] = quality
    return preferences


def prefers_html(accept: str | None) -> bool:
    """Tells whether a client asked for HTML over JSON.

    Only an explicit `text/html` counts: `*/*` (curl, httpx) keeps the JSON status document, so
    scripts written against the original backend see no change.
    """
    preferences = media_preferences(accept or "")
    html = preferences.get(HTML, 0.0)
    json_quality = preferences.get("application/json", 0.0)
    return html > 0.0 and html >= json_quality


# The chat page's optional features and the route each needs, as `GET /` lists them: the page
# reads them there, since the OpenAPI document that names every route is the operator's.
PAGE_FEATURES: dict[str, tuple[str, str]] = {
    "sessions": ("POST", "/sessions"),
    "session_detail": ("GET", "/sessions/{session_id}"),
    "replay": ("GET", "/sessions/{session_id}/replay"),
    "cancel": ("POST", "/sessions/{session_id}/cancel"),
    "rejoin": ("GET", "/sessions/{session_id}/stream"),
}


def page_features(schema: dict[str, Any]) -> dict[str, str]:
    """The chat page's optional features this app serves, each with its route (`POST /sessions`).

    Args:
        schema: The app's OpenAPI document (`FastAPI.openapi()`, built once and kept): it names
            every route whichever way routers were included.
    """
    paths: dict[str, dict[str, Any]] = schema.get("paths", {})
    return {
        name: f"{method} {path}"
        for name, (method, path) in PAGE_FEATURES.items()
        if method.lower() in paths.get(path, {})
    }


def status_document(schema: dict[str, Any]) -> dict[str, Any]:
    """A small status document, as the original backend answered at `GET /`, and the features.

    `GET /` answers it to every client that does not ask for HTML; the chat page reads
    `features` from it to hide the controls of routes this server does not have.

    Args:
        schema: The app's OpenAPI document, which `features` is read from.
    """
    return {
        "service": "Lex, the SuperCar virtual sales assistant",
        "status": "ok",
        "endpoints": {
            "query": "POST /query",
            "health": "GET /health",
            "openapi": "GET /openapi.json (the operator's)",
        },
        "features": page_features(schema),
    }


@router.get(
    "/",
    responses={
        200: {
            "description": "The chat page for browsers, else the status document.",
            "content": {HTML: {}, "application/json": {}},
        }
    },
)
async def root(request: Request) -> Response:
    """Serves the chat page to browsers and the status document to everyone else."""
    vary = {"Vary": "Accept"}
    if prefers_html(request.headers.get("accept")):
        # no-cache: the browser revalidates, so a new release shows up on the next reload.
        headers = {**vary, "Cache-Control": "no-cache"}
        return FileResponse(PAGE_FILE, media_type=HTML, headers=headers)
    return JSONResponse(status_document(request.app.openapi()), headers=vary)


def mount_static(app: FastAPI) -> None:
    """Serves the page's script, styles and icons under `/static`."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
