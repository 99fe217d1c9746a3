"""Every HTTP request gets an id, a count, a log line and (with tracing on) a span.

The id comes from the client's `X-Request-ID` header when it is a sane token (a proxy or the
caller's own id), else a new one; it is sent back in `X-Request-ID` and stamped on every log line
written while serving the request, including those of the turn it starts (the turn's task copies
the request's context). A pure ASGI middleware, not Starlette's `BaseHTTPMiddleware`, so streamed
answers pass through untouched.

The request line names the route template (`/sessions/{session_id}`), never the raw path, so
session ids stay out of the logs; it replaces uvicorn's access line.

A request a limit refused is counted here, from the answer, wherever the limit runs (the
route's rate limits, the cap on running turns): a 429, or a 503 that says when to come back
(`Retry-After`), which is how Lex sheds load; a 503 without it (an unhealthy `/health`) is not.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.telemetry.logs import request_id_var
from api.telemetry.metrics import LexMetrics
from api.telemetry.tracing import Tracing

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
UNMATCHED_ROUTE = "unmatched"
TOO_MANY_REQUESTS = 429
SERVICE_UNAVAILABLE = 503
RETRY_AFTER_HEADER = b"retry-after"


def request_id_from(scope: Scope) -> str:
    """Returns the client's request id if it is a sane token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = bytes(value).decode("latin-1").strip()
            if REQUEST_ID_PATTERN.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """Returns the path template of the route that served the request (bounded label values)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


def is_refused_by_a_limit(status: int, retry_after: bool) -> bool:
    """Whether an answer is a limit's refusal: a 429, or a 503 with `Retry-After`."""
    return status == TOO_MANY_REQUESTS or (status == SERVICE_UNAVAILABLE and retry_after)


class RequestTelemetry:
    """ASGI middleware: request id in and out, request metrics, the request line and span.

    Args:
        app: The application it wraps.
        metrics: Where requests are counted.
        tracing: Opens the request's span when tracing is on.
    """

    def __init__(self, app: ASGIApp, *, metrics: LexMetrics, tracing: Tracing) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves one ASGI connection, HTTP requests measured and given an id."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        retry_after = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, retry_after
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                retry_after = any(bytes(name).lower() == RETRY_AFTER_HEADER for name, _ in headers)
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        method = str(scope.get("method", ""))
        try:
            with self.tracing.request_span(method, request_id) as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    route = route_template(scope)
                    span.name_route(route, status)
        finally:
            request_id_var.reset(token)
            duration_ms = (time.perf_counter() - started) * 1000
            self.metrics.http_requests.labels(method=method, route=route, status=str(status)).inc()
            if is_refused_by_a_limit(status, retry_after):
                self.metrics.rate_limited_requests.labels(route=route, status=str(status)).inc()
            logger.info(
                "%s %s %d %.0f ms",
                method,
                route,
                status,
                duration_ms,
                extra={
                    "event": "request",
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration_ms, 1),
                    "request_id": request_id,
                },
            )
