"""Conversations with the offline model through the real graph, real tools and real SQLite.

State comes from the saved history only: each turn is one `ainvoke` on a thread of a SQLite
checkpointer, with bookings in the SQLite appointment book beside it, at a fixed clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.context import Context
from api.chat_models import choose_chat_model
from api.settings import Settings
from api.wiring import build_lex_graph, make_tool_services
from checkpoints.storage import open_sqlite_storage

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
"""Tuesday 2026-11-24, 10:00 in New York: "tomorrow" is Wednesday the 25th."""


def fixed_clock() -> datetime:
    return NOW


@dataclass(frozen=True)
class TurnResult:
    """What one customer message led to: the tool calls made, their results, the answer."""

    calls: list[tuple[str, dict[str, Any]]]
    results: list[ToolMessage]
    text: str

    def called(self, name: str) -> list[dict[str, Any]]:
        return [args for call, args in self.calls if call == name]


class Chat:
    """One customer's session: `say` sends a message and returns what the turn did."""

    def __init__(self, graph: Any, thread: str, user: str) -> None:
        self._graph = graph
        self._config = {"configurable": {"thread_id": thread}}
        self._context = Context(user_id=user)

    async def say(self, text: str) -> TurnResult:
        before = await self._graph.aget_state(self._config)
        start = len(before.values.get("messages", [])) if before.values else 0
        state = await self._graph.ainvoke(
            {"messages": [HumanMessage(text)]}, self._config, context=self._context
        )
        new = state["messages"][start + 1 :]
        calls = [
            (c["name"], c["args"]) for m in new if isinstance(m, AIMessage) for c in m.tool_calls
        ]
        results = [m for m in new if isinstance(m, ToolMessage)]
        answer = new[-1] if new and isinstance(new[-1], AIMessage) else None
        return TurnResult(calls, results, str(answer.text) if answer else "")


class Lex:
    """The graph with its saver and appointment book open; `chat()` starts a session."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self._count = 0

    def chat(self, user: str | None = None) -> Chat:
        self._count += 1
        return Chat(self._graph, f"thread-{self._count}", user or f"customer-{self._count}")


@asynccontextmanager
async def offline_lex(database: Path, *, max_active_bookings: int = 0) -> AsyncIterator[Lex]:
    """Opens the app's offline graph (the app's own wiring) on a SQLite file, at the fixed clock.

    Args:
        database: The SQLite file.
        max_active_bookings: Upcoming test drives one customer may hold; 0 for no cap.
    """
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        model_provider="offline",
        groq_api_key=None,
        max_active_bookings=max_active_bookings,
    )
    choice = choose_chat_model(settings, fixed_clock)
    async with open_sqlite_storage(database, fixed_clock) as storage:
        services = make_tool_services(settings, storage.appointments, fixed_clock)
        graph = build_lex_graph(
            settings, choice, services, checkpointer=storage.checkpointer, clock=fixed_clock
        )
        yield Lex(graph)
