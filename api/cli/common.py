"""What the `lex` subcommands share: the service URL option, HTTP errors as messages, SSE reading.

Terminal commands talk to a running Lex over HTTP, like any other client, so they read exactly
what the API serves; only `lex studio` (and `lex migrate`) open the database itself.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, TextIO, TypeAlias

import httpx

URL_ENV = "LEX_URL"
DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_S = 30.0

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The object `add_subparsers` returns, which each command module adds its parser to."""
Command = Callable[[argparse.Namespace, TextIO], int]
"""A subcommand: parsed arguments and the output stream in, exit code out."""


class CliError(Exception):
    """A failure to report in one line, without a traceback (exit code 1)."""


def add_url_argument(parser: argparse.ArgumentParser) -> None:
    """Adds `--url`, the base URL of the Lex service (default: $LEX_URL or localhost:8000)."""
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_ENV) or DEFAULT_URL,
        help=f"base URL of the Lex service (default: ${URL_ENV} or {DEFAULT_URL})",
    )


def error_message(response: httpx.Response) -> str:
    """Returns the `error.message` of an error answer, or its status line."""
    try:
        body: Any = response.json()
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def check(response: httpx.Response) -> httpx.Response:
    """Returns a successful response; raises `CliError` with the service's message otherwise."""
    if response.is_success:
        return response
    response.read()
    raise CliError(error_message(response))


def unreachable(url: str, error: httpx.TransportError) -> CliError:
    """Returns the error shown when the service cannot be reached."""
    return CliError(
        f"cannot reach Lex at {url} ({type(error).__name__}); is it running? (make run)"
    )
