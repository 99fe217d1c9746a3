"""Helpers of the tool tests: a settable clock, and a tool call that returns the ToolMessage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolRuntime

from agent.context import Context

FIXED_NOW = datetime(2026, 11, 24, 19, 5, tzinfo=UTC)
"""Tuesday 2026-11-24, 14:05 in New York and Miami, 11:05 in Los Angeles."""


class FakeClock:
    """A clock the test sets by hand; reads as an aware UTC datetime."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso_instant: str) -> None:
        """Move the clock to an ISO instant such as "2026-11-25T02:30:00+00:00"."""
        self.now = datetime.fromisoformat(iso_instant).astimezone(UTC)


def runtime_for(user_id: str, client: str | None = None) -> ToolRuntime[Context, Any]:
    """The runtime the graph's tool node injects for a run of `user_id` from `client`."""
    return ToolRuntime(
        state={"messages": []},
        context=Context(user_id=user_id, client=client),
        config={},
        stream_writer=lambda _: None,
        tool_call_id="1",
        store=None,
    )


async def call(
    tool: BaseTool, *, user_id: str | None = None, client: str | None = None, **args: Any
) -> ToolMessage:
    """Invoke a tool as the graph does, with a tool call, and return its ToolMessage.

    `user_id` is the run's customer and `client` its connection (the context), never model
    arguments.
    """
    if user_id is not None:
        args = {**args, "runtime": runtime_for(user_id, client)}
    message = await tool.ainvoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def content(message: ToolMessage) -> Any:
    """Parse the compact JSON a tool returned to the model, checking it is compact."""
    assert isinstance(message.content, str)
    parsed = json.loads(message.content)
    assert message.content == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    return parsed


class CountingQuota:
    """A `BookingQuota` counting in this process: `most` bookings per client, none ever expiring.

    Attributes:
        most: Bookings each client may take.
        taken: Bookings each client holds now.
        asked: Every client `take` was asked for, in order.
    """

    def __init__(self, most: int) -> None:
        self.most = most
        self.taken: dict[str, int] = {}
        self.asked: list[str] = []

    async def take(self, client: str) -> float | None:
        self.asked.append(client)
        if self.taken.get(client, 0) >= self.most:
            return 1800.0
        self.taken[client] = self.taken.get(client, 0) + 1
        return None

    async def give_back(self, client: str) -> None:
        self.taken[client] -= 1
