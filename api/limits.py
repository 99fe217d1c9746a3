"""Rejects oversized or non-JSON request bodies before any route reads them.

A pure ASGI middleware (BaseHTTPMiddleware would break disconnect detection of the streaming
responses): the body is read once, up to the limit, and handed on to the app unchanged. JSON is
UTF-8 (RFC 8259): a body in another encoding is refused here as invalid JSON, since FastAPI would
answer a bare 400 to a body it cannot decode, or decode UTF-16 and UTF-32 by their byte pattern.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, invalid_json_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestBodyLimit:
    """Answers 413 to a body over `max_bytes`, 415 to one not sent as JSON, 422 to one not UTF-8."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Passes the request on, or answers 413/415/422 before the app reads a byte of it."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and content_type != "application/json":
            response = error_response(
                415,
                "unsupported_media_type",
                "Send the request body as JSON with Content-Type: application/json.",
            )
            await response(scope, receive, send)
            return
        problem = json_text_problem(body)
        if problem is not None:
            position, what = problem
            await invalid_json_response(what, position)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "body_too_large", f"The request body is larger than {self.max_bytes} bytes."
        )
        await response(scope, receive, send)


def json_text_problem(body: bytes) -> tuple[int, str] | None:
    r"""Where and why `body` cannot be JSON text whatever its syntax; None when it may be.

    A NUL counts too: JSON allows one only escaped (as `\u0000`), and a raw one would make Python's
    `json` read the body as UTF-16 or UTF-32.

    Returns:
        The character where the problem is and what it is, or None.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = len(body[: exc.start].decode("utf-8"))
        return position, f"not UTF-8 ({exc.reason})"
    position = text.find("\x00")
    if position >= 0:
        return position, "a raw NUL character (JSON allows it only escaped, as \\u0000)"
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """Returns a `receive` that yields the already-read body once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
