"""The graph LangGraph Studio loads (`langgraph.json` names `make_graph`), without a checkpointer.

`langgraph dev` refuses a graph that has one: it supplies the saver named in `langgraph.json`
(`checkpoints.studio`, over the private copy of one session that `lex studio` makes).
The graph is wired by `api.wiring` exactly as the app's is; only bookings differ: runs made from
Studio book into an in-memory appointment book, never into real appointments. Nothing is built
when this module is imported: the dev server calls the factory.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from api.chat_models import choose_chat_model
from api.settings import Settings
from api.wiring import build_lex_graph, make_tool_services
from tools import InMemoryAppointmentBook
from tools.domain.clock import utc_now


def build_studio_graph(settings: Settings) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Builds the checkpointer-less graph for LangGraph Studio under `settings`."""
    services = make_tool_services(settings, InMemoryAppointmentBook())
    return build_lex_graph(settings, choose_chat_model(settings, utc_now), services)


@functools.cache
def studio_graph_from_environment() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Studio's graph under the environment's settings, built once."""
    return build_studio_graph(Settings())


async def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The factory `langgraph.json` names: built from the environment on first use, then reused.

    It takes no argument (`langgraph dev` would pass a run's config to a one-argument factory),
    and it builds in a worker thread: with a Groq key, choosing the model asks Groq which models
    the account is served, a blocking call `langgraph dev` refuses on its event loop.
    """
    return await asyncio.to_thread(studio_graph_from_environment)
