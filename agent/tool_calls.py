"""The tool node: runs the calls the model asked for, turns failures into results it can answer to.

Tools read the customer from the run context through `ToolRuntime` (never from the model's
arguments), so the tool node needs no knowledge of who the customer is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent.messages import stamped
from tools.domain.clock import Clock

logger = logging.getLogger(__name__)

UNEXPECTED_TOOL_FAILURE = (
    "Error: the tool failed unexpectedly and did nothing. Tell the customer it did not work "
    "and offer to try again."
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
