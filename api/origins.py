"""Which routes browsers may call from other sites: `POST /query` and the public ones, never more.

CORS is answered for the public surface only. The private routes (sessions, the operator's pages)
get no CORS headers, so a preflight from another site fails, and a request a browser marks as
cross-site is refused before the route runs: a form or `fetch(..., {mode: "no-cors"})` from another
page, which needs no preflight, cannot stop or delete anything either.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

PRIVATE_PREFIXES = ("/sessions", "/docs", "/redoc", "/openapi.json", "/metrics")
"""Routes that answer only same-origin or non-browser callers."""
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})
CORS_HEADERS = ["Accept", "Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"]


def is_private(path: str, prefixes: Iterable[str] = PRIVATE_PREFIXES) -> bool:
    """Whether `path` is one of the private routes or below one."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def is_cross_origin(headers: Headers) -> bool:
    """Whether a browser sent this request from another site.

    `Sec-Fetch-Site` is what current browsers say, and a page cannot forge it: when present it
    decides alone (a proxy that rewrites `Host` cannot make a same-origin page look foreign).
    `Origin` (compared with `Host`) covers older browsers. Requests with neither come from
    non-browser clients (curl, the terminal client).
    """
    site = headers.get("sec-fetch-site")
    if site:
        return site in CROSS_SITE_FETCHES
    origin = headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


class CorsForPublicRoutes:
    """CORS on the public routes; no CORS and no cross-origin requests on the private ones."""

    def __init__(self, app: ASGIApp, *, allow_origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=CORS_HEADERS,
            expose_headers=["Retry-After", "X-Request-ID"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sends public requests through CORS, private ones straight on or refused."""
        if scope["type"] != "http" or not is_private(scope["path"]):
            await self.cors(scope, receive, send)
            return
        if is_cross_origin(Headers(scope=scope)):
            response = error_response(
                403, "cross_origin", "This route does not answer requests from other sites."
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
