"""Keeps the conversation a valid message sequence, whatever interrupted a turn.

Groq (like every OpenAI-compatible API) rejects a history in which an assistant message's tool
calls are not each followed by a tool result: one turn cancelled between the tool call and its
result would break every later turn of the session with a 400. Two guards:
- `close_dangling_tool_calls` writes error results for the unanswered calls into the saved history
  when a turn is cancelled, fails or times out;
- `valid_model_input` checks the sequence before every model call, in case anything slipped by.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage

from tools.content import FOR_THE_MODEL

INTERRUPTED_TOOL_RESULT = (
    "Error: this tool call was interrupted before its result came back, so its outcome is "
    f"unknown.{FOR_THE_MODEL} do not repeat it blindly: for a booking or a cancellation, check "
    "the customer's appointments with list_my_appointments first, then tell the customer what "
    "happened."
)


def interrupted_result(call: ToolCall) -> ToolMessage:
    """Returns the error result that stands in for a tool call that never finished."""
    return ToolMessage(
        content=INTERRUPTED_TOOL_RESULT,
        tool_call_id=call.get("id") or "",
        name=call["name"],
        status="error",
    )


def close_dangling_tool_calls(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    """Returns error results for the tool calls of the last assistant message left unanswered.

    Only the tail can dangle in saved history: each turn starts after the previous one ended.
    """
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
            continue
        if isinstance(message, AIMessage) and message.tool_calls:
            return [
                interrupted_result(call)
                for call in message.tool_calls
                if (call.get("id") or "") not in answered
            ]
        return []
    return []


def valid_model_input(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Returns `messages` rearranged into a sequence the chat APIs accept.

    Every assistant tool call is followed by its result (an interrupted-call error when the result
    is missing), and a tool result that answers no call in the message just before it is dropped.
    Already valid input comes back unchanged.
    """
    valid: list[BaseMessage] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        if isinstance(message, ToolMessage):
            continue  # orphan: its call is not the assistant message just before
        valid.append(message)
        if not (isinstance(message, AIMessage) and message.tool_calls):
            continue
        results: dict[str, ToolMessage] = {}
        while index < len(messages) and isinstance(messages[index], ToolMessage):
            result = messages[index]
            assert isinstance(result, ToolMessage)
            results.setdefault(result.tool_call_id, result)
            index += 1
        for call in message.tool_calls:
            call_id = call.get("id") or ""
            valid.append(results.get(call_id) or interrupted_result(call))
    return valid
