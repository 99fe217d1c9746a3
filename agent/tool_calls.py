"""The tool node: runs the calls the model asked for, turns failures into results it can answer to.

Before they are saved, the model's calls are normalized (`normalize_tool_calls`): a name with its
arguments glued in is split, an unknown name made valid, and a call repeated in one step dropped.

Tools read the customer from the run context through `ToolRuntime` (never from the model's
arguments), so the tool node needs no knowledge of who the customer is.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent.messages import stamped
from tools.content import FOR_THE_MODEL
from tools.domain.clock import Clock

logger = logging.getLogger(__name__)

UNEXPECTED_TOOL_FAILURE = (
    f"Error: the tool failed unexpectedly and did nothing.{FOR_THE_MODEL} tell the customer it "
    "did not work and offer to try again."
)


def tool_error_message(error: Exception) -> str:
    """Turns a failed tool call into text the model can answer to.

    Expected failures (`ToolException`, bad arguments) pass their message on; anything else is a
    bug in a tool, logged with its traceback and reported to the model without internals.
    """
    if isinstance(error, ToolException):
        return f"Error: {error}"
    if isinstance(error, ValueError):
        return f"Error: invalid arguments: {error}"
    logger.exception("tool failed unexpectedly", exc_info=error)
    return UNEXPECTED_TOOL_FAILURE


def tool_node(tools: Sequence[BaseTool], clock: Clock) -> ToolNode:
    """Returns the node that runs tool calls, each result stamped with when it was made."""

    async def run_tool(
        request: ToolCallRequest,
        execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        result = await execute(request)
        return stamped(result, clock()) if isinstance(result, ToolMessage) else result

    return ToolNode(list(tools), handle_tool_errors=tool_error_message, awrap_tool_call=run_tool)


VALID_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What the chat APIs accept as a function name, in a request's history too."""
_GLUED_CALL = re.compile(r"\s*([A-Za-z0-9_-]+)\s*[,(:\s]\s*(\{.*\})\s*\)?\s*", re.DOTALL)


def _unglued(name: str, tool_names: Collection[str]) -> tuple[str, dict[str, Any]] | None:
    """Splits `get_weather,{"city": "Miami"}` into a tool name and its arguments, if it is one."""
    match = _GLUED_CALL.fullmatch(name)
    if match is None or match.group(1) not in tool_names:
        return None
    try:
        args = json.loads(match.group(2))
    except ValueError:
        return None
    return (match.group(1), args) if isinstance(args, dict) else None


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:64]
    return cleaned or "unknown_tool"


def normalize_tool_calls(message: AIMessage, tool_names: Collection[str]) -> AIMessage:
    """Returns `message` with tool calls every later request can carry, each asked for once.

    - A call whose arguments were glued into its name (`get_weather,{"city": "Miami"}`, as Llama
      on Groq sometimes writes) is split back into the tool and its arguments.
    - Any other name that is not a tool is made a valid function name, so the tool node answers
      it with an error result and the saved history stays acceptable to the API.
    - Identical calls (same tool, same arguments) in one step run once: a step must never book
      the same slot twice, or book it and then report it taken.
    """
    if not message.tool_calls:
        return message
    calls: list[ToolCall] = []
    seen: set[str] = set()
    changed = False
    for call in message.tool_calls:
        name, args = call["name"], dict(call["args"])
        if name not in tool_names:
            changed = True
            repaired = _unglued(name, tool_names)
            if repaired is not None:
                logger.warning("repaired a tool call glued into its name: %s", repaired[0])
                name, args = repaired[0], {**repaired[1], **args}
            elif not VALID_TOOL_NAME.fullmatch(name):
                name = _safe_name(name)
        key = json.dumps([name, args], sort_keys=True, default=str)
        if key in seen:
            logger.warning("dropped a repeated call to %s in one step", name)
            changed = True
            continue
        seen.add(key)
        calls.append(ToolCall(name=name, args=args, id=call.get("id"), type="tool_call"))
    if not changed:
        return message
    return message.model_copy(update={"tool_calls": calls})
