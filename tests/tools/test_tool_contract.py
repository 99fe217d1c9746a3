"""What every tool promises the graph and the model: names, formats, a hidden user_id and client."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_groq import ChatGroq
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from pydantic import BaseModel, SecretStr
from typing_extensions import TypedDict

from agent.context import Context
from tests.tools.support import CountingQuota, FakeClock
from tools import (
    TOOL_NAMES,
    USER_SCOPED_TOOL_NAMES,
    InMemoryAppointmentBook,
    ToolServices,
    build_tools,
)
from tools.domain.directory import CAR_MODELS, DEALERSHIPS
from tools.names import LIST_MY_APPOINTMENTS, SCHEDULE_APPOINTMENT
from tools.schema import DATE_PATTERN, TIME_PATTERN


def visible_properties(built: BaseTool) -> dict[str, Any]:
    """Return the parameters the model sees, from the tool-call schema."""
    schema = built.tool_call_schema
    assert isinstance(schema, type) and issubclass(schema, BaseModel)
    properties: dict[str, Any] = schema.model_json_schema()["properties"]
    return properties


@pytest.fixture
def quota() -> CountingQuota:
    return CountingQuota(most=10)


@pytest.fixture
def all_tools(quota: CountingQuota) -> list[BaseTool]:
    services = ToolServices(
        appointments=InMemoryAppointmentBook(), clock=FakeClock(), booking_quota=quota
    )
    return build_tools(services)


def test_the_tools_are_exactly_the_ones_in_the_spec(all_tools: list[BaseTool]) -> None:
    assert [t.name for t in all_tools] == list(TOOL_NAMES)
    assert TOOL_NAMES == (
        "get_weather",
        "get_dealership_address",
        "list_dealerships",
        "check_appointment_availability",
        "schedule_appointment",
        "list_my_appointments",
        "cancel_appointment",
    )


def test_every_tool_is_async_returns_an_artifact_and_explains_itself(
    all_tools: list[BaseTool],
) -> None:
    for built in all_tools:
        assert isinstance(built, StructuredTool)
        assert built.coroutine is not None, built.name
        assert built.response_format == "content_and_artifact", built.name
        assert len(built.description) > 80 and "\n" not in built.description, built.name
        properties = visible_properties(built)
        assert all(spec.get("description") for spec in properties.values()), built.name


def test_model_visible_parameters_match_the_spec(all_tools: list[BaseTool]) -> None:
    visible = {
        t.name: list(convert_to_openai_tool(t)["function"]["parameters"]["properties"])
        for t in all_tools
    }

    assert visible == {
        "get_weather": ["city", "date"],
        "get_dealership_address": ["dealership_id"],
        "list_dealerships": ["city"],
        "check_appointment_availability": ["dealership_id", "date"],
        "schedule_appointment": ["dealership_id", "date", "time", "car_model", "replaces"],
        "list_my_appointments": [],
        "cancel_appointment": ["confirmation_id"],
    }
    optional = convert_to_openai_tool(all_tools[2])["function"]["parameters"].get("required", [])
    assert "city" not in optional
    schedule = convert_to_openai_tool(all_tools[4])["function"]["parameters"]
    assert "replaces" not in schedule.get("required", [])
    assert schedule["properties"]["replaces"]["type"] == "string"


def test_user_id_is_never_in_the_schema_sent_to_the_model(all_tools: list[BaseTool]) -> None:
    scoped = [t for t in all_tools if t.name in USER_SCOPED_TOOL_NAMES]
    assert {t.name for t in scoped} == USER_SCOPED_TOOL_NAMES

    groq = ChatGroq(model="llama-3.3-70b-versatile", api_key=SecretStr("gsk-test"))
    bound = groq.bind_tools(all_tools)
    sent: list[dict[str, Any]] = bound.kwargs["tools"]  # type: ignore[attr-defined]

    for built in scoped:
        for hidden in ("user_id", "client", "runtime"):
            assert hidden not in visible_properties(built)
            openai_schema = convert_to_openai_tool(built)["function"]["parameters"]
            assert hidden not in openai_schema["properties"]
            assert hidden not in openai_schema.get("required", [])
        full_schema = built.get_input_schema()
        assert issubclass(full_schema, BaseModel)
        assert "runtime" in full_schema.model_fields  # the graph's tool node injects it
    assert "user_id" not in str(sent)
    assert "client" not in str(sent)  # the address the booking allowance is counted for
    assert "runtime" not in str(sent)
    assert [tool["function"]["name"] for tool in sent] == list(TOOL_NAMES)


class _State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def test_the_tool_node_acts_for_the_run_context_user_whatever_the_model_writes(
    all_tools: list[BaseTool], quota: CountingQuota
) -> None:
    builder = StateGraph(_State, context_schema=Context)
    builder.add_node("tools", ToolNode(all_tools, handle_tool_errors=True))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    graph = builder.compile()
    forged = {
        "user_id": "mallory",
        "client": "192.0.2.66",
        "dealership_id": "miami",
        "date": "2026-11-26",
        "time": "10:00",
        "car_model": "gt",
    }

    async def run(user_id: str, name: str, args: dict[str, Any]) -> ToolMessage:
        call = {"id": "call-1", "name": name, "args": args, "type": "tool_call"}
        result = await graph.ainvoke(
            {"messages": [AIMessage("", tool_calls=[call])]},
            context=Context(user_id=user_id, client=f"address-of-{user_id}"),
        )
        message = result["messages"][-1]
        assert isinstance(message, ToolMessage)
        return message

    booked = await run("alice", SCHEDULE_APPOINTMENT, forged)
    alices = await run("alice", LIST_MY_APPOINTMENTS, {})
    mallorys = await run("mallory", LIST_MY_APPOINTMENTS, {})
    taken = await run("bob", SCHEDULE_APPOINTMENT, forged)

    assert booked.status == "success"
    assert isinstance(booked.artifact, dict)
    assert booked.artifact["confirmation_id"] in str(alices.content)
    assert mallorys.artifact == {"appointments": []}
    assert taken.status == "error"
    assert "That slot was just taken" in str(taken.content)
    assert taken.artifact is None
    # The allowance spent is the run's client's, never one the model names; the refused booking
    # was given back.
    assert quota.taken == {"address-of-alice": 1, "address-of-bob": 0}


def test_ids_models_dates_and_times_are_enums_and_patterns_the_model_reads(
    all_tools: list[BaseTool],
) -> None:
    schemas = {
        t.name: convert_to_openai_tool(t)["function"]["parameters"]["properties"] for t in all_tools
    }
    booking = schemas["schedule_appointment"]
    assert booking["dealership_id"]["enum"] == [d.id for d in DEALERSHIPS]
    assert booking["car_model"]["enum"] == list(CAR_MODELS)
    assert booking["date"]["pattern"] == DATE_PATTERN
    assert booking["time"]["pattern"] == TIME_PATTERN
    assert schemas["check_appointment_availability"]["dealership_id"]["enum"]
    assert schemas["get_dealership_address"]["dealership_id"]["enum"]
    assert schemas["get_weather"]["date"]["pattern"] == DATE_PATTERN
    assert "get_weather" in [t.name for t in all_tools]
    weather = next(t for t in all_tools if t.name == "get_weather")
    assert "°C" in weather.description and "km/h" in weather.description
