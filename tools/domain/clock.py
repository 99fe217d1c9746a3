"""The source of "now" for everything that reads the time: prompt, tools, bookings, registry.

One clock type and one default, so a test (or the app) that injects a clock moves every reader.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current instant; readers treat a naive reading as UTC."""


def utc_now() -> datetime:
    """Returns the current instant as an aware UTC datetime."""
    return datetime.now(UTC)
