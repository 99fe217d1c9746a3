"""The one place the agent graph is wired: the same model, tools and options for the app and Studio.

The app and LangGraph Studio differ only in what the graph saves to (the app's checkpointer, or
none for Studio, which brings its own) and where bookings go; everything about how the model is
called comes from `graph_options`, so a session debugged in Studio runs as it does in production.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, RetryPolicy

from agent.graph import GraphOptions, compile_graph
from api.chat_models import ChatModelChoice
from api.settings import Settings
from api.turns.failures import FALLBACK_ON, is_tool_use_failed
from tools import AppointmentBook, BookingQuota, ToolServices, build_tools
from tools.domain.clock import Clock, utc_now
from tools.domain.directory import directory_prompt_lines, lineup_prompt_lines
from tools.domain.weather import OpenMeteoWeather, SimulatedWeather, WeatherProvider

TOOL_USE_FAILED_FIRST_WAIT_S = 0.2
"""Pause before re-running a model call that Groq rejected with `tool_use_failed`."""


def make_weather(settings: Settings) -> WeatherProvider:
    """Returns the weather provider the settings ask for."""
    if settings.weather_provider == "open-meteo":
        return OpenMeteoWeather(fallback=SimulatedWeather())
    return SimulatedWeather(delay_s=settings.simulated_weather_delay_s)


def make_tool_services(
    settings: Settings,
    appointments: AppointmentBook,
    clock: Clock = utc_now,
    booking_quota: BookingQuota | None = None,
) -> ToolServices:
    """Returns what the tools act on: `appointments`, the settings' weather and booking cap.

    Args:
        settings: The configuration.
        appointments: Where test drives are booked.
        clock: Source of "now".
        booking_quota: The per-client booking limit; None (Studio) for none.
    """
    return ToolServices(
        appointments=appointments,
        weather=make_weather(settings),
        clock=clock,
        max_active_bookings=settings.max_active_bookings or None,
        booking_quota=booking_quota,
    )


def graph_options(settings: Settings, choice: ChatModelChoice, clock: Clock) -> GraphOptions:
    """Returns how the graph calls its model under these settings."""
    return GraphOptions(
        clock=clock,
        prompt_facts=[*directory_prompt_lines(), *lineup_prompt_lines()],
        fallback_models=choice.fallbacks,
        fallback_on=FALLBACK_ON,
        model_retry=RetryPolicy(
            max_attempts=settings.tool_use_failed_attempts,
            initial_interval=TOOL_USE_FAILED_FIRST_WAIT_S,
            retry_on=is_tool_use_failed,
        ),
        context_tokens=settings.context_tokens,
        model_named=choice.model_named,
        lineup=choice.groq.lineup if choice.groq is not None else None,
        on_model_failure=choice.groq.on_model_failure if choice.groq is not None else None,
    )


def build_lex_graph(
    settings: Settings,
    choice: ChatModelChoice,
    services: ToolServices,
    *,
    checkpointer: Checkpointer = None,
    clock: Clock = utc_now,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compiles Lex's graph: the chosen model, the tools over `services`, the settings' options.

    Args:
        settings: The configuration.
        choice: The chat model in use (and its fallbacks).
        services: What the tools act on (appointment book, weather, clock).
        checkpointer: Where sessions are saved; None for Studio.
        clock: Source of "now" for the prompt and message times.
    """
    return compile_graph(
        choice.model,
        build_tools(services),
        graph_options(settings, choice, clock),
        checkpointer=checkpointer,
    )
