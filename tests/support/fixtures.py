"""Pytest fixtures around the Groq stand-in, importable from any test module or conftest.

One stand-in server is started lazily per test process and reset around every test, so a test
pays for a reset, not for a server start-up. Use it with
`from tests.support.fixtures import groq_standin` (plus `groq_env` when the code under test reads
its settings from the environment).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_groq import ChatGroq

from tests.support.groq_standin import GroqStandIn

TEST_API_KEY = "gsk_standin_test_key"
"""The key the fixtures hand to clients; the stand-in accepts any key unless told otherwise."""

_shared: GroqStandIn | None = None
_shared_lock = threading.Lock()


def shared_groq_standin() -> GroqStandIn:
    """The process-wide stand-in, started on first use and stopped at interpreter exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = GroqStandIn().start()
            atexit.register(_shared.stop)
        return _shared


def chat_groq(standin: GroqStandIn, **overrides: Any) -> ChatGroq:
    """A real `ChatGroq` wired to the stand-in: no retries and a 5 s timeout unless overridden.

    Args:
        standin: The running stand-in.
        **overrides: Any `ChatGroq` field, e.g. `max_retries=2`, `timeout=0.2`, `streaming=True`.
    """
    options: dict[str, Any] = {
        "model": "llama-3.3-70b-versatile",
        "api_key": TEST_API_KEY,
        "base_url": standin.base_url,
        "max_retries": 0,
        "timeout": 5.0,
    }
    options.update(overrides)
    return ChatGroq(**options)


@pytest.fixture
def groq_standin() -> Iterator[GroqStandIn]:
    """The shared Groq stand-in, with an empty script, no recorded requests and no latency."""
    standin = shared_groq_standin()
    standin.reset()
    yield standin
    standin.reset()


@pytest.fixture
def groq_env(groq_standin: GroqStandIn, monkeypatch: pytest.MonkeyPatch) -> GroqStandIn:
    """The stand-in, plus the environment that points settings and the groq SDK at it.

    Sets `GROQ_API_BASE` (read by ChatGroq and by the app settings), `GROQ_BASE_URL` (read by the
    groq SDK when no base URL is passed) and `GROQ_API_KEY`.
    """
    monkeypatch.setenv("GROQ_API_BASE", groq_standin.base_url)
    monkeypatch.setenv("GROQ_BASE_URL", groq_standin.base_url)
    monkeypatch.setenv("GROQ_API_KEY", TEST_API_KEY)
    return groq_standin
