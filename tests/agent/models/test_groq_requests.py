"""ChatGroq's messages skip the Groq SDK's walk and reach Groq exactly as before."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Required, TypedDict, get_args, get_origin

import groq
import httpx
import pytest
from groq._utils import PropertyInfo, maybe_transform
from groq.types.chat import ChatCompletionSystemMessageParam
from groq.types.chat.completion_create_params import CompletionCreateParams
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langchain_groq import ChatGroq
from langchain_groq.chat_models import _convert_message_to_dict
from typing_extensions import get_type_hints, is_typeddict

from agent.models.groq_requests import (
    AsyncMessagesAsGiven,
    MessagesAsGiven,
    sending_messages_as_given,
)
from api.chat_models import groq_model
from tests.support.app_server import isolated_settings
from tests.support.fixtures import TEST_API_KEY, chat_groq
from tests.support.groq_standin import GroqStandIn

CONVERSATION: list[BaseMessage] = [
    SystemMessage("You are Lex."),
    HumanMessage("What's the weather in Miami today?", id="h1"),
    AIMessage(
        "",
        id="a1",
        tool_calls=[{"name": "get_weather", "args": {"city": "Miami"}, "id": "call_1"}],
    ),
    ToolMessage('{"summary": "Sunny, 28 C"}', tool_call_id="call_1", name="get_weather"),
    AIMessage("Sunny and 28 C in Miami.", id="a2"),
    HumanMessage(
        [
            {"type": "text", "text": "Is this the GT?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ]
    ),
    AIMessage(
        "Let me check two things.",
        tool_calls=[
            {"name": "find_dealerships", "args": {"city": "Miami"}, "id": "call_2"},
            {"name": "get_weather", "args": {"city": "Orlando", "days": 2}, "id": "call_3"},
        ],
        additional_kwargs={"reasoning_content": "The customer wants two answers."},
    ),
    ToolMessage([{"type": "text", "text": "2 dealerships"}], tool_call_id="call_2"),
    ToolMessage("Rain", tool_call_id="call_3", status="error"),
    HumanMessage("Thanks! Book Friday at 10:00 — ça marche?"),
]


@tool
def get_weather(city: str, days: int = 1) -> str:
    """The weather in a city."""
    return f"Sunny in {city} for {days} days"


def annotations_the_walk_acts_on(annotation: Any, seen: set[int] | None = None) -> list[str]:
    """Every `PropertyInfo` (an alias or a format) anywhere under a type, as text."""
    seen = set() if seen is None else seen
    if id(annotation) in seen:
        return []
    seen.add(id(annotation))
    found: list[str] = []
    if get_origin(annotation) is Annotated:
        found += [repr(m) for m in annotation.__metadata__ if isinstance(m, PropertyInfo)]
    if is_typeddict(annotation):
        for field in get_type_hints(annotation, include_extras=True).values():
            found += annotations_the_walk_acts_on(field, seen)
    for argument in get_args(annotation):
        found += annotations_the_walk_acts_on(argument, seen)
    return found


class _Aliased(TypedDict):
    tool_call_id: Annotated[str, PropertyInfo(alias="toolCallId")]


def test_no_type_under_a_requests_messages_has_anything_the_walk_would_change() -> None:
    # The premise of sending messages as given, for every kind of message the SDK knows: an SDK
    # release that aliases or formats a message key fails here, not in production.
    messages = get_type_hints(CompletionCreateParams, include_extras=True)["messages"]
    assert annotations_the_walk_acts_on(messages) == []
    # The search itself finds such an annotation however deep it is.
    nested = Required[Iterable[ChatCompletionSystemMessageParam | _Aliased]]
    assert annotations_the_walk_acts_on(nested) != []


def test_the_sdk_walk_leaves_the_messages_chatgroq_builds_unchanged() -> None:
    messages = [_convert_message_to_dict(message) for message in CONVERSATION]
    sent = copy.deepcopy(messages)
    walked = maybe_transform(
        {"model": "llama-3.3-70b-versatile", "messages": messages}, CompletionCreateParams
    )
    assert walked["messages"] == sent
    assert messages == sent


def test_the_request_bytes_are_the_same_on_the_wire() -> None:
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        no_wait = {"retry-after-ms": "1"}
        return httpx.Response(500, json={"error": {"message": "recorded"}}, headers=no_wait)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    options: dict[str, Any] = {"base_url": "http://groq.test", "http_client": http}
    as_given = sending_messages_as_given(chat_groq_at(max_retries=1, **options))
    plain = chat_groq_at(max_retries=0, **options)
    for model in (as_given, plain):
        with pytest.raises(groq.InternalServerError):
            model.bind_tools([get_weather]).invoke(CONVERSATION)
    first, retried, walked = bodies
    assert first == retried == walked  # the retry sends the whole request again
    assert json.loads(first)["messages"][3]["tool_call_id"] == "call_1"


def chat_groq_at(**options: Any) -> ChatGroq:
    return ChatGroq(model="llama-3.3-70b-versatile", api_key=TEST_API_KEY, **options)


def test_the_service_model_sends_the_same_request_as_plain_chatgroq(
    groq_standin: GroqStandIn, tmp_path: Path
) -> None:
    settings = isolated_settings(
        tmp_path,
        model_provider="groq",
        groq_api_key=TEST_API_KEY,
        groq_api_base=groq_standin.base_url,
        model_max_retries=0,
    )
    service = groq_model(settings, "llama-3.3-70b-versatile")
    assert isinstance(service.async_client, AsyncMessagesAsGiven)
    assert isinstance(service.client, MessagesAsGiven)
    plain = chat_groq(
        groq_standin,
        streaming=True,
        timeout=settings.model_timeout_s,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,
    )
    for model in (service, plain):
        model.bind_tools([get_weather]).invoke(CONVERSATION)
    as_given, walked = groq_standin.bodies
    assert as_given == walked
    assert as_given["messages"][3] == {
        "role": "tool",
        "content": '{"summary": "Sunny, 28 C"}',
        "tool_call_id": "call_1",
    }
    assert [t["function"]["name"] for t in as_given["tools"]] == ["get_weather"]


async def test_an_async_stream_sends_the_same_request_as_plain_chatgroq(
    groq_standin: GroqStandIn,
) -> None:
    as_given = sending_messages_as_given(chat_groq(groq_standin, streaming=True))
    plain = chat_groq(groq_standin, streaming=True)
    answers = []
    for model in (as_given, plain):
        chunks = [c async for c in model.bind_tools([get_weather]).astream(CONVERSATION)]
        answers.append("".join(str(c.content) for c in chunks))
    first, second = groq_standin.bodies
    assert first == second
    assert first["stream"] is True
    assert answers[0] == answers[1] != ""


def test_wrapping_twice_wraps_once(groq_standin: GroqStandIn) -> None:
    model = sending_messages_as_given(sending_messages_as_given(chat_groq(groq_standin)))
    assert not isinstance(model.async_client._completions, AsyncMessagesAsGiven)
    assert not isinstance(model.client._completions, MessagesAsGiven)


class _Recording:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create(self, **params: Any) -> str:
        self.calls.append(params)
        return "response"


@pytest.mark.parametrize("extra_body", [None, {"citation_options": "enabled"}])
def test_a_callers_extra_body_is_kept_beside_the_messages(extra_body: Any) -> None:
    completions = _Recording()
    messages = ({"role": "user", "content": "hi"} for _ in range(2))  # any iterable
    wrapped = MessagesAsGiven(completions)
    assert wrapped.create(messages=messages, model="m", extra_body=extra_body) == "response"
    (call,) = completions.calls
    assert call["messages"] == []
    assert call["model"] == "m"
    assert call["extra_body"] == {
        **(extra_body or {}),
        "messages": [{"role": "user", "content": "hi"}] * 2,
    }
