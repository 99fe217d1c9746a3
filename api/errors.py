"""Every error answer has one JSON shape, `{"error": {"code", "message", "details"}}`.

Bad requests get a 4xx that says what is wrong, and an unexpected failure a 500 without internals:
nothing reaches a client as a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer raised from a route.

    Attributes:
        status_code: HTTP status.
        code: Machine-readable reason.
        message: Human-readable explanation.
        headers: Extra response headers (such as Retry-After).
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        self.details = details


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """Returns an error answer in the service's one error shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status_code, headers=headers)


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Returns a one-sentence summary and a per-field list of validation problems."""
    details = []
    for error in errors:
        if error.get("type") == "json_invalid":
            # FastAPI locates a JSON syntax error by character offset, which is no field.
            position = next((p for p in error.get("loc", ()) if isinstance(p, int)), None)
            where = f" at character {position}" if position is not None else ""
            problem = f"the body is not valid JSON{where}: {error.get('msg', '')}"
            details.append({"field": "body", "problem": problem})
            continue
        location = [str(part) for part in error.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(location) or "body", "problem": error.get("msg", "")})
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return f"Invalid request: {summary}", details


def invalid_json_response(problem: str, position: int | None = None) -> JSONResponse:
    """Returns the 422 a body that is not valid JSON gets, whoever finds it out.

    Args:
        problem: What is wrong, in a few words.
        position: The character of the body where the problem is, when known.
    """
    location = ("body",) if position is None else ("body", position)
    error = {"type": "json_invalid", "loc": location, "msg": problem}
    message, details = describe_validation_errors([error])
    return error_response(422, "invalid_request", message, details=details)


def unreadable_body_problem(exc: StarletteHTTPException) -> str | None:
    """What FastAPI's bare 400 for a body it could not parse was about; None for any other error.

    FastAPI raises a JSON syntax error as a validation error (a 422 here), but any other failure to
    read the body (JSON nested deeper than Python's parser recurses, bytes it cannot decode) as
    `HTTPException(400, "There was an error parsing the body")` raised *from* the parser's
    exception. That cause is what tells it apart from other 400s; with it the client gets the 422
    of every other body that is not JSON Lex can read.
    """
    if exc.status_code != 400:
        return None
    if isinstance(exc.__cause__, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc.__cause__, ValueError):
        return "not readable as UTF-8 JSON"
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that give every error the service's JSON shape."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status_code, exc.code, exc.message, headers=exc.headers, details=exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = describe_validation_errors(list(exc.errors()))
        return error_response(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = unreadable_body_problem(exc)
        if problem is not None:
            return invalid_json_response(problem)
        code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
        return error_response(
            exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on our side.")
