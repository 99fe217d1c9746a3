"""A stand-in for Groq's OpenAI-compatible chat API, served by a real uvicorn server on loopback.

Tests and benchmarks point the real `ChatGroq` client (and the `groq` SDK under it) at it, so the
HTTP, SSE, retry and error paths run for real with no network and no key. Replies are scripted per
test; when none is queued a small deterministic responder answers.

Deliberate choices:
- The server speaks raw ASGI rather than through a framework: it must be able to withhold the
  response headers (`Stall`) and to cut a connection mid-body (`DropMidStream`), which frameworks
  try hard to prevent.
- Error bodies copy what Groq returns (`{"error": {"message", "type", "code", ...}}`), because the
  SDK keeps the parsed body on the exception and callers branch on `body["error"]["code"]`.
- Tool-call arguments are split across several SSE chunks (the OpenAI shape, the harder one for a
  client to merge); `ToolCalls(split_arguments=False)` sends each call whole in one chunk instead,
  which is what Groq itself usually does.
- The catalog is Groq's of late 2026: `TODAY_CATALOG` is what a free or developer account is
  served (Llama retired on 2026-08-16), `ENTERPRISE_CATALOG` adds the Llama models committed-spend
  accounts keep. A model not served answers `404 model_not_found`, a retired one everywhere
  `400 model_decommissioned`, before any scripted reply is consumed.
- Reasoning models reason the way Groq returns it: gpt-oss in `reasoning` deltas (none with
  `include_reasoning: false`; `reasoning_effort` only low/medium/high; no `reasoning_format`),
  qwen as `<think>...</think>` inside the content (tags split across chunks) unless
  `reasoning_format` is `parsed` (a `reasoning` field) or `hidden`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, TypeAlias

import uvicorn

logger = logging.getLogger(__name__)

CHAT_COMPLETIONS_PATH: Final = "/openai/v1/chat/completions"
MODELS_PATH: Final = "/openai/v1/models"
DEFAULT_MODEL: Final = "llama-3.3-70b-versatile"
TODAY_CATALOG: Final[tuple[str, ...]] = (
    "openai/gpt-oss-120b",
    "openai/gpt-oss-20b",
    "qwen/qwen3.6-27b",
    "qwen/qwen3-32b",
    "whisper-large-v3-turbo",
)
"""What Groq serves a free or developer account since 2026-08-16."""
ENTERPRISE_CATALOG: Final[tuple[str, ...]] = (
    "llama-3.3-70b-versatile",
    "llama-3.1-8b-instant",
    *TODAY_CATALOG,
)
"""What a committed-spend (enterprise) account is still served: the Llama models too."""
DEFAULT_MODELS: Final[tuple[str, ...]] = ENTERPRISE_CATALOG
DECOMMISSIONED_EVERYWHERE: Final = frozenset(
    {
        "llama3-70b-8192",
        "llama3-8b-8192",
        "llama-3.1-70b-versatile",
        "mixtral-8x7b-32768",
        "gemma2-9b-it",
        "meta-llama/llama-4-scout-17b-16e-instruct",
        "meta-llama/llama-4-maverick-17b-128e-instruct",
    }
)
"""Ids Groq answers `400 model_decommissioned` for, whatever the account."""
GPT_OSS_EFFORTS: Final = frozenset({"low", "medium", "high"})
QWEN_EFFORTS: Final = frozenset({"none", "default"})
AUTO_REASONING: Final = "The customer asked something. Let me think about which tool fits."
"""Reasoning a reasoning model gives when the scripted reply brings none."""
WEATHER_TOOL: Final = "get_weather"

_ASGIMessage: TypeAlias = MutableMapping[str, Any]
_Scope: TypeAlias = MutableMapping[str, Any]
_Receive: TypeAlias = Callable[[], Awaitable[_ASGIMessage]]
_Send: TypeAlias = Callable[[_ASGIMessage], Awaitable[None]]

# A token is a run of whitespace followed by a word, so " world" keeps its leading space.
_TOKEN_RE: Final = re.compile(r"\s*\S+|\s+")
_CITY_RE: Final = re.compile(r"\bin\s+([A-Za-z][A-Za-z'.-]*(?:\s+[A-Za-z][A-Za-z'.-]*){0,2})")
# Words that end a city name in "weather in miami today" or "in new york right now".
_NOT_CITY: Final = frozenset(
    "today tomorrow tonight now right this next please and or for at on like then currently "
    "is was will be".split()
)
_ARGUMENT_PIECE_CHARS: Final = 12
_POLL_S: Final = 0.02
_STARTUP_TIMEOUT_S: Final = 10.0
_SSE_HEADERS: Final = {"content-type": "text/event-stream", "cache-control": "no-cache"}
_RATE_LIMIT_HEADERS: Final = {
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "6000",
    "x-ratelimit-remaining-requests": "14399",
    "x-ratelimit-remaining-tokens": "5900",
    "x-ratelimit-reset-requests": "6s",
    "x-ratelimit-reset-tokens": "1s",
}


# --------------------------------------------------------------------------------------------
# Scripted replies
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A plain answer, streamed word by word; each piece keeps its leading whitespace.

    Attributes:
        text: The whole answer.
        token_delay_s: Pause between two streamed pieces.
        first_token_delay_s: Pause between the response headers and the first piece.
        reasoning: What a reasoning model thinks first; empty gives `AUTO_REASONING` for
            reasoning models (gpt-oss, qwen) and nothing for the others.
    """

    text: str
    token_delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    reasoning: str = ""


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asks for.

    Attributes:
        name: The tool name.
        args: The arguments, sent JSON-encoded.
        id: The tool-call id; None picks `call_0001`, `call_0002`, ... (reset by `reset()`).
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ToolCalls:
    """An assistant turn that calls one or more tools (parallel calls when several).

    Attributes:
        calls: The calls, in order.
        text: Optional text streamed before the calls.
        split_arguments: Split each call's arguments over several chunks (OpenAI style); False
            sends every call whole in a single chunk, as Groq usually does.
        token_delay_s: Pause between two streamed chunks.
        first_token_delay_s: Pause between the response headers and the first chunk.
        reasoning: As for `Text`.
    """

    calls: Sequence[ToolCall]
    text: str = ""
    split_arguments: bool = True
    token_delay_s: float = 0.0
    first_token_delay_s: float = 0.0
    reasoning: str = ""


@dataclass(frozen=True)
class Error:
    """An HTTP error answer with a Groq-shaped JSON body; the factories give the real bodies.

    Attributes:
        status: HTTP status code.
        body: The JSON body, normally `{"error": {"message", "type", "code"}}`.
        headers: Extra response headers, e.g. `retry-after`.
        in_stream: For a streaming request, answer 200 and send the error as an SSE
            `event: error` message instead, as Groq does when generation has already begun
            (`tool_use_failed`). The groq SDK then raises a plain `groq.APIError` whose `body` is
            the inner `error` object, not an `APIStatusError`.
    """

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    in_stream: bool = False

    @classmethod
    def rate_limited(cls, retry_after_s: float = 2.0, model: str = DEFAULT_MODEL) -> Error:
        """429 `rate_limit_exceeded` with a `retry-after` header (seconds)."""
        wait = f"{retry_after_s:g}"
        message = (
            f"Rate limit reached for model `{model}` in organization `org_standin` service tier "
            "`on_demand` on tokens per minute (TPM): Limit 6000, Used 5990, Requested 1200. "
            f"Please try again in {wait}s. Need more tokens? Upgrade to Dev Tier today at "
            "https://console.groq.com/settings/billing"
        )
        return cls(
            429,
            {"error": {"message": message, "type": "tokens", "code": "rate_limit_exceeded"}},
            {"retry-after": wait, "x-ratelimit-remaining-tokens": "0"},
        )

    @classmethod
    def invalid_api_key(cls) -> Error:
        """401 `invalid_api_key`."""
        return cls(
            401,
            {
                "error": {
                    "message": "Invalid API Key",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )

    @classmethod
    def tool_use_failed(cls, failed_generation: str = "", *, in_stream: bool = True) -> Error:
        """400 `tool_use_failed`: the model wrote a tool call Groq could not parse.

        Args:
            failed_generation: What the model wrote, e.g. `<function=get_weather>{...}</function>`.
            in_stream: Send it inside the stream for streaming requests (Groq's behaviour).
        """
        error = {
            "message": (
                "Failed to call a function. Please adjust your prompt. "
                "See 'failed_generation' for more details."
            ),
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": failed_generation,
        }
        return cls(400, {"error": error}, in_stream=in_stream)

    @classmethod
    def model_not_found(cls, model: str = "no-such-model") -> Error:
        """404 `model_not_found`."""
        message = f"The model `{model}` does not exist or you do not have access to it."
        return cls(
            404,
            {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
            },
        )

    @classmethod
    def model_decommissioned(cls, model: str = "llama3-70b-8192") -> Error:
        """400 `model_decommissioned` (Groq answers a retired id with 400, not 404)."""
        message = (
            f"The model `{model}` has been decommissioned and is no longer supported. Please "
            "refer to https://console.groq.com/docs/deprecations for a recommendation on which "
            "model to use instead."
        )
        return cls(
            400,
            {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "code": "model_decommissioned",
                }
            },
        )

    @classmethod
    def internal_server_error(cls) -> Error:
        """500 (the groq SDK retries it)."""
        return cls(
            500,
            {"error": {"message": "Internal Server Error", "type": "internal_server_error"}},
        )

    @classmethod
    def service_unavailable(cls) -> Error:
        """503 over capacity (the groq SDK retries it)."""
        return cls(
            503,
            {
                "error": {
                    "message": "Service Unavailable: Groq is over capacity, try again later.",
                    "type": "internal_server_error",
                    "code": "service_unavailable",
                }
            },
        )


@dataclass(frozen=True)
class Stall:
    """Accept the request, then send nothing (not even headers) for `seconds`.

    If the client is still waiting afterwards, the automatic responder answers; the scripted
    queue is not consumed, so a retry after a client timeout takes the next scripted reply.
    """

    seconds: float


@dataclass(frozen=True)
class DropMidStream:
    """Send the start of an answer, then close the connection without finishing the response.

    Attributes:
        text_before: Text streamed before the cut (for a non-streaming request, the first half
            of the JSON body is sent instead).
        token_delay_s: Pause between two streamed pieces.
    """

    text_before: str = ""
    token_delay_s: float = 0.0


Reply: TypeAlias = Text | ToolCalls | Error | Stall | DropMidStream


# --------------------------------------------------------------------------------------------
# What was received
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the stand-in received.

    Attributes:
        method: HTTP method.
        path: URL path, e.g. `/openai/v1/chat/completions`.
        headers: Request headers with lower-case names, e.g. `authorization`.
        body: The parsed JSON body (`{}` for a body-less or unparseable request).
        received_at: `time.monotonic()` when the body had been read.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tool schemas offered to the model."""
        tools = self.body.get("tools")
        return list(tools) if isinstance(tools, list) else []

    @property
    def tool_names(self) -> list[str]:
        """The names of the offered tools, in order."""
        return [str(tool.get("function", {}).get("name")) for tool in self.tools]

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed answer."""
        return self.body.get("stream") is True

    @property
    def model(self) -> str | None:
        """The model id asked for."""
        model = self.body.get("model")
        return model if isinstance(model, str) else None


# --------------------------------------------------------------------------------------------
# The automatic responder
# --------------------------------------------------------------------------------------------


def auto_reply(body: Mapping[str, Any]) -> Text | ToolCalls:
    """The deterministic answer given when no reply is scripted.

    - The last message is a tool result: a short text mentioning each trailing tool output
      (its `summary` or `message` when the output is a JSON object that has one).
    - The last user message mentions weather and a `get_weather` tool is offered: a call to
      `get_weather(city=...)` with the capitalised word(s) after "in" ("weather in new york
      today" gives "New York"); without a city, a text asking for one.
    - Otherwise: a short greeting-style text.

    Args:
        body: The chat-completion request body.

    Returns:
        The reply, without any latency (the server adds its own).
    """
    raw_messages = body.get("messages")
    messages = [m for m in raw_messages if isinstance(m, Mapping)] if raw_messages else []
    if messages and messages[-1].get("role") == "tool":
        outputs: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            outputs.append(_describe_tool_output(message.get("content")))
        return Text("Here is what I found: " + " ".join(reversed(outputs)))

    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    user_text = _content_text(last_user.get("content")) if last_user is not None else ""
    offered = {
        str(tool.get("function", {}).get("name"))
        for tool in body.get("tools") or []
        if isinstance(tool, Mapping)
    }
    if "weather" in user_text.lower() and WEATHER_TOOL in offered:
        match = _CITY_RE.search(user_text)
        if match is None:
            return Text("Which city would you like the weather for?")
        return ToolCalls([ToolCall(WEATHER_TOOL, {"city": _city(match.group(1))})])
    return Text(
        "Thanks for your message! I'm Lex, SuperCar's virtual assistant. I can help with our "
        "models, dealerships, appointments and the weather."
    )


def _city(words: str) -> str:
    """Turns "new york today" into "New York": words up to the first non-city one, capitalised."""
    city: list[str] = []
    for word in words.split():
        if word.lower() in _NOT_CITY:
            break
        city.append(word[:1].upper() + word[1:])
    return " ".join(city).rstrip(".") or words.split()[0].capitalize()


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part)
            for part in content
        )
    return "" if content is None else str(content)


def _describe_tool_output(content: Any) -> str:
    text = _content_text(content).strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        for key in ("summary", "message"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return text[:300]


# --------------------------------------------------------------------------------------------
# Turning a reply into chunks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A successful answer as the deltas to stream and the message to return whole."""

    deltas: list[dict[str, Any]]
    message: dict[str, Any]
    finish_reason: str
    first_delay_s: float
    token_delay_s: float


def _split_tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def _split_think_tags(pieces: list[str]) -> list[str]:
    """Cuts every piece holding a think tag in two inside the tag, as a tokenizer may."""
    split: list[str] = []
    for piece in pieces:
        cut = max(piece.find("<think>"), piece.find("</think>"))
        if cut < 0:
            split.append(piece)
            continue
        split.extend([piece[: cut + 3], piece[cut + 3 :]])
    return split


ReasoningStyle: TypeAlias = str
"""How a reply's reasoning travels: "none", "field" (`reasoning` deltas) or "think" (content)."""


def reasoning_style(body: Mapping[str, Any]) -> tuple[ReasoningStyle, str | None]:
    """Returns how the requested model returns reasoning, or Groq's complaint about the options.

    Args:
        body: The chat-completion request body.

    Returns:
        The style, and None; or "none" and the 400 message Groq would give.
    """
    model = str(body.get("model") or "")
    effort = body.get("reasoning_effort")
    reasoning_format = body.get("reasoning_format")
    include = body.get("include_reasoning")
    if model.startswith("openai/gpt-oss"):
        if reasoning_format is not None:
            return "none", "`reasoning_format` is not supported with this model"
        if effort is not None and effort not in GPT_OSS_EFFORTS:
            return "none", "`reasoning_effort` must be one of `low`, `medium`, `high`"
        return ("none" if include is False else "field"), None
    if model.startswith("qwen/"):
        if effort is not None and effort not in QWEN_EFFORTS:
            return "none", "`reasoning_effort` must be one of `none`, `default`"
        styles = {None: "think", "raw": "think", "parsed": "field", "hidden": "none"}
        if reasoning_format not in styles:
            return "none", "`reasoning_format` must be one of `parsed`, `raw`, `hidden`"
        if include is False:
            return "none", None
        return styles[reasoning_format], None
    if reasoning_format is not None or effort is not None:
        return "none", "`reasoning_format` and `reasoning_effort` are not supported with this model"
    return "none", None


def _plan(
    reply: Text | ToolCalls,
    new_call_id: Callable[[], str],
    reasoning: ReasoningStyle = "none",
) -> _Plan:
    thought = reply.reasoning or AUTO_REASONING
    text = reply.text
    if reasoning == "think":
        text = f"<think>\n{thought}\n</think>\n\n{text}"
    pieces = _split_think_tags(_split_tokens(text))
    deltas: list[dict[str, Any]] = [{"content": piece} for piece in pieces]
    extra: dict[str, Any] = {}
    if reasoning == "field":
        deltas = [{"reasoning": piece} for piece in _split_tokens(thought)] + deltas
        extra["reasoning"] = thought
    if isinstance(reply, Text):
        message: dict[str, Any] = {"role": "assistant", "content": text, **extra}
        return _Plan(deltas, message, "stop", reply.first_token_delay_s, reply.token_delay_s)

    message = {"role": "assistant", "content": text or None, **extra}
    calls = []
    whole: list[dict[str, Any]] = []
    for index, call in enumerate(reply.calls):
        arguments = json.dumps(dict(call.args), ensure_ascii=False)
        call_id = call.id or new_call_id()
        function = {"name": call.name, "arguments": arguments}
        calls.append({"id": call_id, "type": "function", "function": function})
        whole.append({"index": index, **calls[-1]})
        if not reply.split_arguments:
            continue
        head = {"name": call.name, "arguments": ""}
        deltas.append(
            {"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": head}]}
        )
        for start in range(0, len(arguments), _ARGUMENT_PIECE_CHARS):
            piece = arguments[start : start + _ARGUMENT_PIECE_CHARS]
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if not reply.split_arguments and whole:
        deltas.append({"tool_calls": whole})
    message["tool_calls"] = calls
    return _Plan(deltas, message, "tool_calls", reply.first_token_delay_s, reply.token_delay_s)


def _usage(body: Mapping[str, Any], completion_tokens: int) -> dict[str, Any]:
    """Token usage in Groq's shape; counts are rough but deterministic."""
    prompt_tokens = len(json.dumps(body.get("messages", []), ensure_ascii=False)) // 4 + 1
    return {
        "queue_time": 0.0001,
        "prompt_tokens": prompt_tokens,
        "prompt_time": round(prompt_tokens * 0.00001, 6),
        "completion_tokens": completion_tokens,
        "completion_time": round(completion_tokens * 0.004, 6),
        "total_tokens": prompt_tokens + completion_tokens,
        "total_time": round(prompt_tokens * 0.00001 + completion_tokens * 0.004, 6),
    }


def _sse(payload: Mapping[str, Any], event: str | None = None) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {data}\n\n".encode()


def _json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


class _DroppedConnection(Exception):
    """Raised inside the ASGI app to make uvicorn close the socket mid-response."""


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging the deliberate `DropMidStream` cut as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DroppedConnection))


# --------------------------------------------------------------------------------------------
# The ASGI app
# --------------------------------------------------------------------------------------------


class _Exchange:
    """One request/response on the wire: sending helpers and interruptible pauses."""

    def __init__(self, send: _Send, closing: threading.Event) -> None:
        self._send = send
        self._closing = closing
        self.disconnected = False

    async def pause(self, seconds: float) -> bool:
        """Sleeps up to `seconds`; returns False as soon as the client leaves.

        Raises:
            _DroppedConnection: The server is stopping; the response is cut short quietly.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.disconnected:
            if self._closing.is_set():
                raise _DroppedConnection
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(remaining, _POLL_S))
        return False

    async def start(self, status: int, headers: Mapping[str, str]) -> None:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def write(self, data: bytes, *, more: bool = True) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(
        self, status: int, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> None:
        data = _json_bytes(payload)
        await self.start(
            status,
            {**headers, "content-type": "application/json", "content-length": str(len(data))},
        )
        await self.write(data, more=False)


def message_sequence_problem(messages: Sequence[Any]) -> str | None:
    """Returns Groq's complaint about a conversation it would reject, or None.

    Like Groq, every assistant tool call must be answered by a tool message before the next
    non-tool message, and a tool message must answer a call of the assistant message before it.
    """
    pending: set[str] = set()
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        if role == "tool":
            call_id = str(message.get("tool_call_id"))
            if call_id not in pending:
                return f"'messages.{index}' : tool message answers no pending tool call {call_id}"
            pending.discard(call_id)
            continue
        if pending:
            return (
                f"'messages.{index - 1}' : for 'role:assistant' the following must be satisfied"
                f"[('messages.{index - 1}.tool_calls' : tool_call_ids did not have response "
                f"messages: {', '.join(sorted(pending))})]"
            )
        if role == "assistant":
            pending = {str(call.get("id")) for call in message.get("tool_calls") or []}
    if pending:
        return "the last assistant message's tool_call_ids did not have response messages"
    return None


_FUNCTION_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def tool_name_problem(messages: Sequence[Any]) -> str | None:
    """Returns Groq's complaint about a function name in the history it would reject, or None.

    A glued call such as `get_weather,{"city": "Miami"}` saved as is makes every later request
    of the conversation fail with this 400.
    """
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        for position, call in enumerate(message.get("tool_calls") or []):
            name = str((call.get("function") or {}).get("name", ""))
            if not _FUNCTION_NAME_RE.fullmatch(name):
                return (
                    f"'messages.{index}.tool_calls.{position}.function.name' : "
                    "string does not match pattern. Expected a string that matches the pattern "
                    "'^[a-zA-Z0-9_-]{1,64}$'"
                )
    return None


class _StandInApp:
    """The ASGI application; all mutable state lives in the owning `GroqStandIn`."""

    def __init__(self, owner: GroqStandIn) -> None:
        self._owner = owner

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        raw_body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw_body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            parsed = json.loads(raw_body) if raw_body else {}
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        method, path = str(scope["method"]), str(scope["path"])
        self._owner._record(RecordedRequest(method, path, headers, body, time.monotonic()))

        exchange = _Exchange(send, self._owner._closing)
        watcher = asyncio.create_task(self._watch_disconnect(receive, exchange))
        try:
            await self._route(exchange, method, path, headers, body, parsed)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    @staticmethod
    async def _watch_disconnect(receive: _Receive, exchange: _Exchange) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        exchange.disconnected = True

    async def _route(
        self,
        ex: _Exchange,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: dict[str, Any],
        parsed: object,
    ) -> None:
        request_id = f"req_{uuid.uuid4().hex[:26]}"
        base_headers = {"x-request-id": request_id, **_RATE_LIMIT_HEADERS}
        route = (method, path)
        if route not in {("POST", CHAT_COMPLETIONS_PATH), ("GET", MODELS_PATH)}:
            message = (
                f"Unknown request URL: {method} {path}. Please check the URL for typos, "
                "or see the docs at https://console.groq.com/docs/"
            )
            error = {"message": message, "type": "invalid_request_error", "code": "unknown_url"}
            await ex.json(404, {"error": error}, base_headers)
            return
        expected_key = self._owner.expected_api_key
        if expected_key is not None and headers.get("authorization") != f"Bearer {expected_key}":
            failure = Error.invalid_api_key()
            await ex.json(failure.status, failure.body, base_headers)
            return
        if path == MODELS_PATH:
            listing_error = self._owner.listing_error
            if listing_error is not None:
                await ex.json(listing_error.status, listing_error.body, base_headers)
                return
            await ex.json(200, self._owner._models_payload(), base_headers)
            return
        if not isinstance(parsed, dict) or not isinstance(body.get("messages"), list):
            message = "'messages' : property 'messages' is missing or not an array"
            error = {"message": message, "type": "invalid_request_error"}
            await ex.json(400, {"error": error}, base_headers)
            return

        if problem := message_sequence_problem(body["messages"]) or tool_name_problem(
            body["messages"]
        ):
            error = {"message": problem, "type": "invalid_request_error"}
            await ex.json(400, {"error": error}, base_headers)
            return
        if unserved := self._owner._unserved(body):
            await ex.json(unserved.status, unserved.body, base_headers)
            return
        style, complaint = reasoning_style(body)
        if complaint is not None:
            error = {"message": complaint, "type": "invalid_request_error"}
            await ex.json(400, {"error": error}, base_headers)
            return

        reply = self._owner._next_reply()
        if reply is None:
            reply = self._owner._auto_reply(body)
        if isinstance(reply, Stall):
            if not await ex.pause(reply.seconds):
                return
            reply = self._owner._auto_reply(body)
        meta = _ResponseMeta(body, request_id, base_headers)
        if isinstance(reply, Error):
            await self._send_error(ex, reply, meta)
        elif isinstance(reply, DropMidStream):
            await self._send_dropped(ex, reply, meta)
        else:
            await self._send_answer(ex, _plan(reply, self._owner._new_call_id, style), meta)

    async def _send_error(self, ex: _Exchange, error: Error, meta: _ResponseMeta) -> None:
        if error.in_stream and meta.stream:
            await ex.start(200, {**meta.headers, **_SSE_HEADERS})
            inner = dict(error.body.get("error", error.body))
            inner.setdefault("status_code", error.status)
            await ex.write(_sse({"error": inner}, event="error"), more=False)
            return
        await ex.json(error.status, error.body, {**meta.headers, **error.headers})

    async def _send_answer(self, ex: _Exchange, plan: _Plan, meta: _ResponseMeta) -> None:
        usage = _usage(meta.body, len(plan.deltas))
        if not meta.stream:
            busy = plan.first_delay_s + plan.token_delay_s * max(0, len(plan.deltas) - 1)
            if not await ex.pause(busy):
                return
            completion = meta.envelope("chat.completion")
            completion["choices"] = [
                {
                    "index": 0,
                    "message": plan.message,
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ]
            completion["usage"] = usage
            completion["x_groq"] = {"id": meta.request_id}
            await ex.json(200, completion, meta.headers)
            return

        await ex.start(200, {**meta.headers, **_SSE_HEADERS})
        if not await ex.pause(plan.first_delay_s):
            return
        await ex.write(meta.chunk({"role": "assistant", "content": ""}, first=True))
        for index, delta in enumerate(plan.deltas):
            if index and not await ex.pause(plan.token_delay_s):
                return
            await ex.write(meta.chunk(delta))
        await ex.write(meta.chunk({}, finish_reason=plan.finish_reason, usage=usage))
        if meta.include_usage:
            final = meta.envelope("chat.completion.chunk")
            final.update(choices=[], usage=usage)
            await ex.write(_sse(final))
        await ex.write(b"data: [DONE]\n\n", more=False)

    async def _send_dropped(self, ex: _Exchange, reply: DropMidStream, meta: _ResponseMeta) -> None:
        text = Text(reply.text_before, token_delay_s=reply.token_delay_s)
        plan = _plan(text, self._owner._new_call_id)
        if meta.stream:
            await ex.start(200, {**meta.headers, **_SSE_HEADERS})
            await ex.write(meta.chunk({"role": "assistant", "content": ""}, first=True))
            for index, delta in enumerate(plan.deltas):
                if index and not await ex.pause(plan.token_delay_s):
                    return
                await ex.write(meta.chunk(delta))
        else:
            completion = meta.envelope("chat.completion")
            completion["choices"] = [
                {"index": 0, "message": plan.message, "logprobs": None, "finish_reason": "stop"}
            ]
            data = _json_bytes(completion)
            headers = {
                **meta.headers,
                "content-type": "application/json",
                "content-length": str(len(data)),
            }
            await ex.start(200, headers)
            await ex.write(data[: len(data) // 2])
        # Give the event loop a moment to flush what was written before the socket is cut.
        await asyncio.sleep(0.01)
        raise _DroppedConnection


class _ResponseMeta:
    """The per-request constants every chunk of one answer repeats."""

    def __init__(self, body: Mapping[str, Any], request_id: str, headers: Mapping[str, str]):
        self.body = body
        self.request_id = request_id
        self.headers = dict(headers)
        self.stream = body.get("stream") is True
        options = body.get("stream_options")
        self.include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
        self.completion_id = f"chatcmpl-{uuid.uuid4()}"
        self.created = int(time.time())
        model = body.get("model")
        self.model = model if isinstance(model, str) else DEFAULT_MODEL

    def envelope(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_standin",
        }

    def chunk(
        self,
        delta: Mapping[str, Any],
        *,
        first: bool = False,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
    ) -> bytes:
        payload = self.envelope("chat.completion.chunk")
        payload["choices"] = [
            {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}
        ]
        # Like Groq: the request id rides on the first and last chunk, usage on the last.
        if first:
            payload["x_groq"] = {"id": self.request_id}
        elif usage is not None:
            payload["x_groq"] = {"id": self.request_id, "usage": dict(usage)}
        return _sse(payload)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class GroqStandIn:
    """A Groq chat-completions stand-in on a background uvicorn server.

    Use as `with GroqStandIn() as groq: ...` or `start()`/`stop()`, then point the client at it:
    `ChatGroq(base_url=groq.base_url, api_key="test")` (or set `GROQ_API_BASE`). All methods are
    safe to call from any thread while the server runs.

    Args:
        host: Interface to bind; loopback by default.
        port: Port to bind; 0 picks a free one.
        first_token_delay_s: Latency before the first chunk of automatic replies.
        tokens_per_s: Streaming speed of automatic replies; None or 0 means no delay.
        api_key: If set, requests without `Authorization: Bearer <api_key>` get 401.
        models: Model ids listed by `GET /openai/v1/models`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        first_token_delay_s: float = 0.0,
        tokens_per_s: float | None = None,
        api_key: str | None = None,
        models: Sequence[str] = DEFAULT_MODELS,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._models = tuple(models)
        self._default_models = self._models
        self._defaults = (first_token_delay_s, tokens_per_s, api_key)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._call_ids = 0
        self._first_token_delay_s = first_token_delay_s
        self._tokens_per_s = tokens_per_s
        self.expected_api_key: str | None = api_key
        self.listing_error: Error | None = None
        """When set, `GET /models` answers this error (a listing outage)."""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GroqStandIn:
        """Starts the server in a daemon thread and waits until it accepts connections.

        Returns:
            self, for chaining.

        Raises:
            RuntimeError: Already started, or the server did not come up.
        """
        if self._server is not None:
            raise RuntimeError("GroqStandIn is already running")
        self._closing.clear()
        sock = self._bind()
        server = self._make_server()
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="groq-standin", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("GroqStandIn did not start")
            time.sleep(0.005)
        logger.debug("Groq stand-in listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stops the server, cutting short any stalled or slow reply. Idempotent."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None:
            return
        self._closing.set()
        server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
        if sock is not None:
            sock.close()
        self._server = self._thread = self._socket = None

    def serve_forever(self) -> None:
        """Runs the server in the calling thread until interrupted (for the CLI)."""
        sock = self._bind()
        logger.info(
            "Groq stand-in listening on %s (set GROQ_API_BASE=%s)", self.base_url, self.base_url
        )
        try:
            self._make_server().run(sockets=[sock])
        finally:
            sock.close()

    def __enter__(self) -> GroqStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by each connection: without it Nagle's algorithm holds the end of every small
        # response until the client's delayed ACK, about 40 ms per model call.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self._host, self._requested_port))
        self._port = int(sock.getsockname()[1])
        return sock

    def _make_server(self) -> uvicorn.Server:
        uvicorn_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _HideDroppedConnections) for f in uvicorn_log.filters):
            uvicorn_log.addFilter(_HideDroppedConnections())
        config = uvicorn.Config(
            _StandInApp(self),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            interface="asgi3",
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config)

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._port is None:
            raise RuntimeError("GroqStandIn is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """What `ChatGroq(base_url=...)` / `GROQ_API_BASE` take (the SDK adds `/openai/v1`)."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """The base URL an OpenAI-style client wants (`.../openai/v1`)."""
        return f"{self.base_url}/openai/v1"

    # -- scripting and inspection ------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queues replies; each chat request (retries included) consumes the next one."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted replies have not been consumed yet."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """A snapshot of the chat-completion requests received, oldest first."""
        return [r for r in self.requests if r.path == CHAT_COMPLETIONS_PATH]

    @property
    def bodies(self) -> list[Mapping[str, Any]]:
        """The parsed JSON bodies of the chat-completion requests, oldest first."""
        return [r.body for r in self.chat_requests]

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent chat-completion request.

        Raises:
            LookupError: None has been received.
        """
        chat = self.chat_requests
        if not chat:
            raise LookupError("the Groq stand-in has received no chat request")
        return chat[-1]

    def set_latency(
        self, *, first_token_delay_s: float = 0.0, tokens_per_s: float | None = None
    ) -> None:
        """Changes the latency of automatic replies (benchmarks)."""
        with self._lock:
            self._first_token_delay_s = first_token_delay_s
            self._tokens_per_s = tokens_per_s

    def reset(self) -> None:
        """Forgets scripted replies, recorded requests and tool-call ids; restores the settings."""
        with self._lock:
            if self._replies:
                logger.warning("dropping %d unconsumed scripted replies", len(self._replies))
            self._replies.clear()
            self._requests.clear()
            self._call_ids = 0
            self._first_token_delay_s, self._tokens_per_s, self.expected_api_key = self._defaults
            self._models = self._default_models
            self.listing_error = None

    # -- used by the app (any thread) --------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _new_call_id(self) -> str:
        with self._lock:
            self._call_ids += 1
            return f"call_{self._call_ids:04d}"

    def _auto_reply(self, body: Mapping[str, Any]) -> Text | ToolCalls:
        with self._lock:
            first, rate = self._first_token_delay_s, self._tokens_per_s
        reply = auto_reply(body)
        return dataclasses.replace(
            reply, first_token_delay_s=first, token_delay_s=1.0 / rate if rate else 0.0
        )

    def serve_models(self, models: Sequence[str]) -> None:
        """Changes the catalog: what `GET /models` lists and which models answer (until reset)."""
        with self._lock:
            self._models = tuple(models)

    @property
    def models(self) -> tuple[str, ...]:
        """The ids served now."""
        with self._lock:
            return self._models

    def _unserved(self, body: Mapping[str, Any]) -> Error | None:
        """Groq's answer to a request for a model the account is not served, or None."""
        model = body.get("model")
        if not isinstance(model, str) or model in self.models:
            return None
        if model in DECOMMISSIONED_EVERYWHERE:
            return Error.model_decommissioned(model)
        return Error.model_not_found(model)

    def _models_payload(self) -> dict[str, Any]:
        created = 1_733_447_754
        data = [
            {
                "id": model,
                "object": "model",
                "created": created,
                "owned_by": "Groq Stand-In",
                "active": True,
                "context_window": 131072,
                "public_apps": None,
                "max_completion_tokens": 32768,
            }
            for model in self.models
        ]
        return {"object": "list", "data": data}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the stand-in as a process: `python -m tests.support.groq_standin --port 8787`."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.groq_standin",
        description="Serve a Groq chat-completions stand-in with deterministic answers.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (logged)")
    parser.add_argument("--first-token-ms", type=float, default=0.0)
    parser.add_argument("--tokens-per-s", type=float, default=0.0, help="0 means no delay")
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    parser.add_argument(
        "--catalog",
        choices=("enterprise", "today"),
        default="enterprise",
        help="today: what a free or developer account is served (Llama retired)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    standin = GroqStandIn(
        host=args.host,
        port=args.port,
        first_token_delay_s=args.first_token_ms / 1000.0,
        tokens_per_s=args.tokens_per_s or None,
        api_key=args.api_key,
        models=TODAY_CATALOG if args.catalog == "today" else ENTERPRISE_CATALOG,
    )
    with contextlib.suppress(KeyboardInterrupt):
        standin.serve_forever()


if __name__ == "__main__":
    main()
