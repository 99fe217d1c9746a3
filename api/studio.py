"""The graph LangGraph Studio loads (`langgraph.json`), compiled without a checkpointer.

`langgraph dev` refuses a graph that has one: it supplies the saver named in `langgraph.json`
(`checkpoints.studio`, over the Studio copy of the app's database, so saved sessions open there).
The model follows the same settings as the service (Groq with a key, the offline model without);
bookings made from Studio go to an in-memory appointment book, never to real appointments.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agent.graph import compile_graph
from api.chat_models import choose_chat_model
from api.settings import Settings
from api.turns.failures import FALLBACK_ON
from tools import InMemoryAppointmentBook, SimulatedWeather, ToolServices, build_tools
from tools.domain.directory import directory_prompt_lines


def make_studio_graph(settings: Settings | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Builds the checkpointer-less graph for LangGraph Studio."""
    settings = settings or Settings()
    choice = choose_chat_model(settings)
    tools = build_tools(
        ToolServices(appointments=InMemoryAppointmentBook(), weather=SimulatedWeather())
    )
    return compile_graph(
        choice.model,
        tools,
        prompt_facts=directory_prompt_lines(),
        fallback_models=choice.fallbacks,
        fallback_on=FALLBACK_ON,
        model_named=choice.model_named,
    )


graph = make_studio_graph()
