"""The one entry point that turns the services into the tool list the agent binds."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.bookings import build_appointment_tools
from tools.info import build_info_tools
from tools.names import TOOL_NAMES
from tools.services import ToolServices


def build_tools(services: ToolServices) -> list[BaseTool]:
    """Build every tool the model can call, bound to the given services.

    Args:
        services: Appointment book, weather provider and clock.

    Returns:
        The tools in the order of `tools.names.TOOL_NAMES`.
    """
    by_name = {t.name: t for t in [*build_info_tools(services), *build_appointment_tools(services)]}
    tools = [by_name[name] for name in TOOL_NAMES]
    for built in tools:
        # Docstrings wrap at the line length; the model reads the description as one paragraph.
        built.description = " ".join(built.description.split())
    return tools
