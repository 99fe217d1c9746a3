"""How a tool result is written for the model, in one place so every tool agrees."""

from __future__ import annotations

import json
from typing import Any, Final

FOR_THE_MODEL: Final = " Note for Lex:"
"""Starts the part of a tool error meant for the model only; cards show what comes before it."""


def compact_json(payload: Any) -> str:
    """Serialize a tool result for the model: compact separators, non-ASCII kept as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
