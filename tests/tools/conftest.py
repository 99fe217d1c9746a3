"""Fixtures of the tool tests: the tools over a fixed clock and each appointment book."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool

from checkpoints.appointments import open_appointment_book
from tests.support.storage import open_database
from tests.tools.support import FakeClock
from tools import AppointmentBook, InMemoryAppointmentBook, SimulatedWeather, ToolServices
from tools import build_tools as build


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def book(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AppointmentBook]:
    """Every booking test runs against every book: they must behave the same."""
    if request.param == "memory":
        yield InMemoryAppointmentBook()
        return
    if request.param == "postgres":
        async with open_database(request.getfixturevalue("postgres_url")) as storage:
            yield storage.appointments
        return
    async with open_appointment_book(tmp_path / "lex.sqlite") as sqlite_book:
        yield sqlite_book


@pytest.fixture
def tools(book: AppointmentBook, clock: FakeClock) -> dict[str, BaseTool]:
    services = ToolServices(appointments=book, weather=SimulatedWeather(), clock=clock)
    return {tool.name: tool for tool in build(services)}


@pytest.fixture
def info_tools(clock: FakeClock) -> dict[str, BaseTool]:
    """The tools over an in-memory book, for tests that never book."""
    services = ToolServices(appointments=InMemoryAppointmentBook(), clock=clock)
    return {tool.name: tool for tool in build(services)}
