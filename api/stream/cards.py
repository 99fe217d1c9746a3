"""The `output` of a `tool_output` event: the card payload the chat frontend renders.

A successful tool returns its card as the ToolMessage artifact. A failed call has none, so the card
is built here from the error, in the shape the frontend needs for that tool (an object for the
booking card, a slot list for availability, a string elsewhere), so it is never `null`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolMessage

from api.stream.events import ToolOutput
from tools.content import FOR_THE_MODEL
from tools.domain.appointment_book import NOTHING_BOOKED
from tools.names import CHECK_APPOINTMENT_AVAILABILITY, SCHEDULE_APPOINTMENT


def tool_error_text(message: ToolMessage) -> str:
    """Returns the error of a failed tool call without the model-facing prefix."""
    customer_part = message.text.removeprefix("Error: ").split(FOR_THE_MODEL, 1)[0]
    return customer_part.strip() or "The tool did not answer."


def sentence(text: str) -> str:
    """Returns `text` starting with a capital, as it follows another sentence on the card."""
    return text[:1].upper() + text[1:]


def card_output(message: ToolMessage, args: dict[str, Any]) -> Any:
    """Returns the card payload of a finished tool call.

    Args:
        message: The tool's result.
        args: The arguments the model called the tool with (used for failed calls).
    """
    if message.status != "error" and message.artifact is not None:
        return message.artifact
    if message.status != "error":
        return message.text
    error = tool_error_text(message)
    if message.name == SCHEDULE_APPOINTMENT:
        return {
            "confirmation_id": "",
            "date": str(args.get("date", "")),
            "time": str(args.get("time", "")),
            "model": str(args.get("car_model", "")),
            "message": error if NOTHING_BOOKED in error else f"{NOTHING_BOOKED} {sentence(error)}",
            "status": "failed",
        }
    if message.name == CHECK_APPOINTMENT_AVAILABILITY:
        return {
            "dealership_id": str(args.get("dealership_id", "")),
            "date": str(args.get("date", "")),
            "availableTimes": [],
            "error": error,
        }
    return f"Sorry, that did not work: {error}"


def tool_output_event(
    message: ToolMessage, calls: Mapping[str, tuple[str, dict[str, Any]]]
) -> ToolOutput:
    """Returns the `tool_output` event of a tool result, live or replayed.

    Args:
        message: The tool's result.
        calls: The turn's tool calls by id, as (name, args).
    """
    name, args = calls.get(message.tool_call_id, (message.name or "", {}))
    if message.name:
        name = message.name
    failed = message.status == "error"
    return ToolOutput(
        id=message.tool_call_id,
        name=name,
        output=card_output(message, args),
        status="error" if failed else "success",
        error=tool_error_text(message) if failed else None,
    )
