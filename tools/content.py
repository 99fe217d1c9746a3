"""How a tool result is serialized for the model, in one place so every tool agrees."""

from __future__ import annotations

import json
from typing import Any


def compact_json(payload: Any) -> str:
    """Serialize a tool result for the model: compact separators, non-ASCII kept as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
