"""The Groq stand-in, exercised through the real ChatGroq client and groq SDK over loopback HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import groq
import httpx
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langchain_groq import ChatGroq
from pydantic import SecretStr

from tests.support.fixtures import TEST_API_KEY, chat_groq
from tests.support.groq_standin import (
    CHAT_COMPLETIONS_PATH,
    DEFAULT_MODELS,
    TODAY_CATALOG,
    DropMidStream,
    Error,
    GroqStandIn,
    Stall,
    Text,
    ToolCall,
    ToolCalls,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"The weather in {city} is sunny, 30°C, humidity 70%, wind 12 km/h."


@tool
def get_dealership_address(dealership_id: str) -> str:
    """Address of a SuperCar dealership."""
    return dealership_id


def _merge(chunks: Iterable[BaseMessage]) -> AIMessageChunk:
    merged: AIMessageChunk | None = None
    for chunk in chunks:
        assert isinstance(chunk, AIMessageChunk)
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    return merged


# -- answers ---------------------------------------------------------------------------------


def test_streamed_text_arrives_token_by_token_with_usage(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("Hello there, world!"))

    chunks = list(chat_groq(groq_standin).stream("hi"))

    tokens = [c.content for c in chunks if c.content]
    assert tokens == ["Hello", " there,", " world!"]
    merged = _merge(chunks)
    assert merged.content == "Hello there, world!"
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["output_tokens"] == 3


def test_non_streamed_answer_is_one_message_with_usage(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("Our GT is in stock."))

    answer = chat_groq(groq_standin).invoke("Is the GT in stock?")

    assert answer.content == "Our GT is in stock."
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["total_tokens"] > 0
    assert groq_standin.last_request.stream is False


def test_first_token_waits_for_the_scripted_delay(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("Hi there", first_token_delay_s=0.15, token_delay_s=0.05))
    started = time.monotonic()
    arrivals = []

    for chunk in chat_groq(groq_standin).stream("hi"):
        if chunk.content:
            arrivals.append(time.monotonic() - started)

    # Lower bounds only: the stand-in cannot send a token before its delays have passed, while a
    # busy client may read two tokens at once (so the gap between two arrivals proves nothing).
    assert len(arrivals) >= 2
    assert arrivals[0] >= 0.15
    assert arrivals[-1] >= 0.15 + 0.05 * (len(arrivals) - 1)


# -- tool calls ------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "whole"])
def test_tool_call_round_trips_into_ai_message(groq_standin: GroqStandIn, streaming: bool) -> None:
    groq_standin.script(ToolCalls([ToolCall("get_weather", {"city": "Miami"}, id="call_abc")]))
    model = chat_groq(groq_standin, streaming=streaming).bind_tools([get_weather])

    answer = model.invoke("Weather in Miami?")

    assert isinstance(answer, AIMessage)
    assert answer.tool_calls == [
        {"name": "get_weather", "args": {"city": "Miami"}, "id": "call_abc", "type": "tool_call"}
    ]
    assert answer.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("split_arguments", [True, False], ids=["split-args", "whole-calls"])
def test_parallel_tool_calls_are_all_parsed(
    groq_standin: GroqStandIn, split_arguments: bool
) -> None:
    calls = [
        ToolCall("get_weather", {"city": "New York"}),
        ToolCall("get_dealership_address", {"dealership_id": "new-york"}),
    ]
    groq_standin.script(ToolCalls(calls, text="Let me check.", split_arguments=split_arguments))
    model = chat_groq(groq_standin).bind_tools([get_weather, get_dealership_address])

    merged = _merge(model.stream("Weather and address in New York?"))

    assert merged.content == "Let me check."
    assert [(c["name"], c["args"], c["id"]) for c in merged.tool_calls] == [
        ("get_weather", {"city": "New York"}, "call_0001"),
        ("get_dealership_address", {"dealership_id": "new-york"}, "call_0002"),
    ]
    assert merged.invalid_tool_calls == []


# -- errors ----------------------------------------------------------------------------------


def test_rate_limit_surfaces_as_rate_limit_error(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Error.rate_limited(retry_after_s=7))

    with pytest.raises(groq.RateLimitError) as caught:
        chat_groq(groq_standin, max_retries=0).invoke("hi")

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "rate_limit_exceeded"
    assert len(groq_standin.requests) == 1


def test_sdk_retries_a_rate_limit_after_retry_after(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Error.rate_limited(retry_after_s=0.05), Text("Second time lucky."))

    answer = chat_groq(groq_standin, max_retries=1).invoke("hi")

    assert answer.content == "Second time lucky."
    retries = [r.headers["x-stainless-retry-count"] for r in groq_standin.requests]
    assert retries == ["0", "1"]


def test_tool_use_failed_surfaces_as_bad_request_error(groq_standin: GroqStandIn) -> None:
    failed = '<function=get_weather>{"city": "Miami"}</function>'
    groq_standin.script(Error.tool_use_failed(failed))

    with pytest.raises(groq.BadRequestError) as caught:
        chat_groq(groq_standin).bind_tools([get_weather]).invoke("Weather in Miami?")

    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "tool_use_failed"
    assert caught.value.body["error"]["failed_generation"] == failed


def test_tool_use_failed_mid_stream_is_a_plain_api_error(groq_standin: GroqStandIn) -> None:
    # Groq reports it inside the 200 stream; the SDK raises APIError with the inner error object.
    groq_standin.script(Error.tool_use_failed("<function=get_weather>"))

    with pytest.raises(groq.APIError) as caught:
        list(chat_groq(groq_standin).bind_tools([get_weather]).stream("Weather in Miami?"))

    assert not isinstance(caught.value, groq.APIStatusError)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "tool_use_failed"


def test_wrong_api_key_is_an_authentication_error(groq_standin: GroqStandIn) -> None:
    groq_standin.expected_api_key = "gsk_the_right_one"

    with pytest.raises(groq.AuthenticationError) as caught:
        chat_groq(groq_standin, api_key="gsk_wrong").invoke("hi")

    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "invalid_api_key"
    assert groq_standin.last_request.headers["authorization"] == "Bearer gsk_wrong"


@pytest.mark.parametrize(
    ("error", "exception", "code"),
    [
        (Error.model_not_found("llama-9"), groq.NotFoundError, "model_not_found"),
        (Error.model_decommissioned(), groq.BadRequestError, "model_decommissioned"),
        (Error.internal_server_error(), groq.InternalServerError, None),
    ],
    ids=["not-found", "decommissioned", "server-error"],
)
def test_model_errors_map_to_sdk_exceptions(
    groq_standin: GroqStandIn, error: Error, exception: type[groq.APIStatusError], code: str | None
) -> None:
    groq_standin.script(error)

    with pytest.raises(exception) as caught:
        chat_groq(groq_standin).invoke("hi")

    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"].get("code") == code


def test_base_url_ending_in_openai_v1_is_an_unknown_url(groq_standin: GroqStandIn) -> None:
    with pytest.raises(groq.NotFoundError) as caught:
        chat_groq(groq_standin, base_url=groq_standin.openai_base_url).invoke("hi")

    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["code"] == "unknown_url"


# -- broken connections ----------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "whole"])
def test_stall_trips_the_client_timeout(groq_standin: GroqStandIn, streaming: bool) -> None:
    groq_standin.script(Stall(10))
    model = chat_groq(groq_standin, timeout=0.2, streaming=streaming)
    started = time.monotonic()

    with pytest.raises(groq.APITimeoutError):
        model.invoke("hi")

    assert time.monotonic() - started < 2


def test_timeout_bounds_each_read_not_a_whole_stream(groq_standin: GroqStandIn) -> None:
    # httpx's read timeout restarts with every chunk: a slow but steady stream never trips it.
    groq_standin.script(Text("one two three four five", token_delay_s=0.1))
    started = time.monotonic()

    answer = chat_groq(groq_standin, timeout=0.25, streaming=True).invoke("hi")

    assert answer.content == "one two three four five"
    assert time.monotonic() - started > 0.25


def test_drop_mid_stream_delivers_tokens_then_a_protocol_error(groq_standin: GroqStandIn) -> None:
    groq_standin.script(DropMidStream("The weather in"))
    received: list[str] = []

    # The SDK does not wrap errors raised while iterating a stream: httpx's error escapes.
    with pytest.raises(httpx.RemoteProtocolError):
        for chunk in chat_groq(groq_standin).stream("hi"):
            received.append(str(chunk.content))

    assert "".join(received) == "The weather in"


def test_drop_of_a_whole_response_is_a_connection_error(groq_standin: GroqStandIn) -> None:
    groq_standin.script(DropMidStream("The weather in"))

    with pytest.raises(groq.APIConnectionError):
        chat_groq(groq_standin).invoke("hi")


def test_stop_cuts_short_a_stalled_request() -> None:
    standin = GroqStandIn().start()
    standin.script(Stall(30))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chat_groq(standin, timeout=20).invoke("hi")
        except Exception as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not standin.requests:
        time.sleep(0.01)
    started = time.monotonic()
    standin.stop()
    caller.join(timeout=5)

    assert time.monotonic() - started < 3
    assert not caller.is_alive()
    assert len(errors) == 1


# -- recording -------------------------------------------------------------------------------


def test_requests_are_recorded_with_headers_tools_and_messages(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("One."), Text("Two."))
    model = chat_groq(groq_standin).bind_tools([get_weather])

    model.invoke("first")
    list(model.stream([HumanMessage("first"), AIMessage("One."), HumanMessage("second")]))

    first, second = groq_standin.requests
    assert first.path == second.path == CHAT_COMPLETIONS_PATH
    assert first.headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert first.model == "llama-3.3-70b-versatile"
    assert (first.stream, second.stream) == (False, True)
    assert first.tool_names == ["get_weather"]
    assert first.tools[0]["function"]["parameters"]["required"] == ["city"]
    assert [m["content"] for m in second.messages] == ["first", "One.", "second"]
    assert groq_standin.bodies == [first.body, second.body]
    assert groq_standin.pending == 0


def test_concurrent_requests_each_take_one_scripted_reply(groq_standin: GroqStandIn) -> None:
    answers = [f"Answer {n}." for n in range(8)]
    groq_standin.script(*(Text(a, token_delay_s=0.01) for a in answers))
    model = chat_groq(groq_standin, streaming=True)

    results = model.batch(["hi"] * len(answers), config={"max_concurrency": len(answers)})

    assert sorted(str(r.content) for r in results) == sorted(answers)
    assert len(groq_standin.requests) == len(answers)


def test_reset_forgets_script_and_requests(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("never sent"))
    chat_groq(groq_standin).invoke("hi")
    groq_standin.script(Text("never sent either"))

    groq_standin.reset()

    assert (groq_standin.pending, groq_standin.requests) == (0, [])
    assert chat_groq(groq_standin).invoke("hi").content != "never sent either"


# -- automatic replies -----------------------------------------------------------------------


def test_auto_reply_calls_get_weather_for_the_city_asked(groq_standin: GroqStandIn) -> None:
    model = chat_groq(groq_standin).bind_tools([get_weather, get_dealership_address])

    answer = _merge(model.stream("What's the weather like in new york today?"))

    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("get_weather", {"city": "New York"})
    ]


def test_auto_reply_answers_from_the_tool_output(groq_standin: GroqStandIn) -> None:
    summary = "The weather in Miami is sunny, 30°C, humidity 70%, wind 12 km/h."
    history = [
        HumanMessage("Weather in Miami?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Miami"}, "id": "c1"}]),
        ToolMessage(json.dumps({"city": "Miami", "summary": summary}), tool_call_id="c1"),
    ]

    answer = chat_groq(groq_standin).bind_tools([get_weather]).invoke(history)

    assert isinstance(answer.content, str)
    assert summary in answer.content
    assert answer.tool_calls == []


def test_auto_reply_without_weather_tool_is_plain_text(groq_standin: GroqStandIn) -> None:
    answer = chat_groq(groq_standin).invoke("What's the weather in Miami?")

    assert answer.content
    assert answer.tool_calls == []


def test_auto_replies_follow_the_configured_latency(groq_standin: GroqStandIn) -> None:
    groq_standin.set_latency(first_token_delay_s=0.1, tokens_per_s=100)
    started = time.monotonic()
    arrivals = []

    for chunk in chat_groq(groq_standin).stream("hello"):
        if chunk.content:
            arrivals.append(time.monotonic() - started)

    assert arrivals[0] >= 0.1
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) * 0.01 * 0.9


# -- other surfaces --------------------------------------------------------------------------


async def test_async_client_streams_and_invokes(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("Async hello."), Text("Async whole."))
    model = chat_groq(groq_standin)

    tokens = [str(c.content) async for c in model.astream("hi") if c.content]
    whole = await model.ainvoke("hi")

    assert tokens == ["Async", " hello."]
    assert whole.content == "Async whole."
    assert groq_standin.requests[0].headers["x-stainless-async"].startswith("async")


def test_groq_env_points_a_bare_chat_groq_at_the_standin(groq_env: GroqStandIn) -> None:
    groq_env.script(Text("From the environment."))

    answer = ChatGroq(model="llama-3.3-70b-versatile", max_retries=0).invoke("hi")

    assert answer.content == "From the environment."


def test_models_endpoint_lists_models(groq_standin: GroqStandIn) -> None:
    client = groq.Groq(api_key=TEST_API_KEY, base_url=groq_standin.base_url, max_retries=0)

    listed = client.models.list()

    assert [m.id for m in listed.data] == list(DEFAULT_MODELS)


def test_runs_as_a_standalone_process() -> None:
    command = [sys.executable, "-m", "tests.support.groq_standin", "--port", "0"]
    with subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert "listening on http://127.0.0.1:" in line
            base_url = line.split("listening on ", 1)[1].split()[0]
            model = ChatGroq(
                model="llama-3.3-70b-versatile", api_key=SecretStr(TEST_API_KEY), base_url=base_url
            )

            answer = model.invoke("hello")

            assert "Lex" in str(answer.content)
        finally:
            process.terminate()
            process.wait(timeout=5)


def test_todays_catalog_refuses_retired_models_like_groq(groq_standin: GroqStandIn) -> None:
    groq_standin.serve_models(TODAY_CATALOG)
    groq_standin.script(Text("kept for the served model"))
    with pytest.raises(groq.NotFoundError) as not_found:
        chat_groq(groq_standin).invoke("hi")
    with pytest.raises(groq.BadRequestError) as retired:
        chat_groq(groq_standin, model="llama3-70b-8192").invoke("hi")
    assert not_found.value.body["error"]["code"] == "model_not_found"  # type: ignore[index]
    assert retired.value.body["error"]["code"] == "model_decommissioned"  # type: ignore[index]
    assert chat_groq(groq_standin, model="openai/gpt-oss-20b").invoke("hi").text == (
        "kept for the served model"
    )
    listed = groq.Groq(api_key=TEST_API_KEY, base_url=groq_standin.base_url).models.list()
    assert [model.id for model in listed.data] == list(TODAY_CATALOG)


def test_gpt_oss_reasons_in_a_field_and_validates_its_effort(groq_standin: GroqStandIn) -> None:
    groq_standin.script(Text("Sunny.", reasoning="Think first."))
    answer = chat_groq(groq_standin, model="openai/gpt-oss-120b").invoke("hi")
    assert answer.text == "Sunny."
    assert answer.additional_kwargs["reasoning_content"] == "Think first."
    for bad in ({"reasoning_effort": "none"}, {"reasoning_format": "parsed"}):
        with pytest.raises(groq.BadRequestError):
            chat_groq(groq_standin, model="openai/gpt-oss-120b", **bad).invoke("hi")
    quiet = chat_groq(
        groq_standin, model="openai/gpt-oss-120b", model_kwargs={"include_reasoning": False}
    ).invoke("hi")
    assert "reasoning_content" not in quiet.additional_kwargs


@pytest.mark.parametrize(
    ("reasoning_format", "content"),
    [
        (None, "<think>\nThink first.\n</think>\n\nSunny."),
        ("parsed", "Sunny."),
        ("hidden", "Sunny."),
    ],
)
def test_qwen_thinks_in_the_content_unless_asked_otherwise(
    groq_standin: GroqStandIn, reasoning_format: str | None, content: str
) -> None:
    groq_standin.script(Text("Sunny.", reasoning="Think first."))
    model = chat_groq(groq_standin, model="qwen/qwen3.6-27b", reasoning_format=reasoning_format)
    assert model.invoke("hi").content == content
