"""How Lex logs: plain text or one JSON object per line, request ids, and no customer text.

Customer text never reaches the logs unless `LOG_CUSTOMER_TEXT=true`: Lex's own lines carry ids,
counts and codes only, and the libraries that would write request bodies, SQL parameters or
streamed answers at DEBUG (the Groq client, aiosqlite, sse-starlette, ...) are held at INFO even
when `LOG_LEVEL=DEBUG`. Session ids appear hashed, so lines of one session can be followed without
the log naming the session.
"""

from __future__ import annotations

import hashlib
import logging
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}

CHATTY_LIBRARIES = (
    "groq",  # DEBUG: every request's options, messages included
    "openai",
    "httpx",
    "httpcore",
    "aiosqlite",  # DEBUG: every call with its SQL parameters (saved messages)
    "psycopg",
    "sse_starlette",  # DEBUG: every chunk sent to the client
    "langsmith",
    "urllib3",
    "redis",
)
"""Loggers that write request or response bodies at DEBUG: never below INFO without consent."""

SESSION_HASH_CHARS = 16

request_id_var: ContextVar[str | None] = ContextVar("lex_request_id", default=None)
"""The id of the HTTP request being served (also inside the turn task it started)."""

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
UVICORN_ACCESS = "uvicorn.access"
"""uvicorn's access line prints raw paths (session ids); Lex's own request line replaces it."""


def session_hash(session_id: str) -> str:
    """Returns the session id as it appears in logs: a short SHA-256, the same in every process."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:SESSION_HASH_CHARS]


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Adds `request_id` to the record; never drops it."""
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def json_formatter() -> logging.Formatter:
    """Returns the formatter of `LOG_FORMAT=json`: one JSON object per line, extras as keys."""
    return JsonFormatter(
        JSON_FIELDS, rename_fields=JSON_RENAMED, json_ensure_ascii=False, timestamp=False
    )


def text_formatter() -> logging.Formatter:
    """Returns the formatter of `LOG_FORMAT=text`, the default."""
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(
    level: str, log_format: LogFormat = "text", *, customer_text: bool = False
) -> None:
    """Sets up the root logger (and uvicorn's, when it runs us) for the chosen format.

    Args:
        level: Root level name, e.g. "INFO".
        log_format: "text" lines, or "json" objects.
        customer_text: Let libraries log bodies at DEBUG (customer text included).
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(level.upper())
    formatter = json_formatter() if log_format == "json" else text_formatter()
    handlers = list(root.handlers)
    if log_format == "json":
        # uvicorn's own handlers print its startup lines; in JSON mode they must be JSON too.
        handlers += [h for name in _UVICORN_LOGGERS for h in logging.getLogger(name).handlers]
    for handler in handlers:
        if log_format == "json" or handler.formatter is None:
            handler.setFormatter(formatter)
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
    logging.getLogger(UVICORN_ACCESS).setLevel(logging.WARNING)
    floor = logging.DEBUG if customer_text else logging.INFO
    for name in CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < floor:
            library.setLevel(floor)
