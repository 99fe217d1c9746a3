"""One customer turn, timed, against each target: Lex, `langgraph dev`, and the floor.

A turn's two times are taken at the client, from just before the request is sent: the first
answer token (`first_chunk_s`) and the end of the answer (`end_s`). The floor makes the model
calls Lex would make for the same turn (system prompt, the conversation so far, the tools)
directly with ChatGroq, so Lex's overhead is its time minus the floor's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx
from groq import AsyncGroq
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_groq import ChatGroq

from agent.models.groq_requests import sending_messages_as_given
from agent.prompts import build_system_prompt
from agent.trimming import trim_for_model
from api.cli.sse import SseLineParser
from bench.processes import BENCH_ADMIN_TOKEN, BENCH_API_KEY
from tools import InMemoryAppointmentBook, SimulatedWeather, ToolServices, build_tools
from tools.domain.directory import directory_prompt_lines

TurnKind = Literal["plain", "tool"]
MODEL_NAME = "llama-3.3-70b-versatile"
TIMEZONE = "America/New_York"
QUERIES: dict[TurnKind, str] = {
    # The stand-in answers a greeting-style text to anything that is not about the weather, and
    # calls get_weather for "weather ... in <city>"; the answer then quotes the tool's summary.
    "plain": "Tell me about the SuperCar GT, please.",
    "tool": "What's the weather in Miami today?",
}
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class TurnTiming:
    """How one turn went, seen from the client.

    Attributes:
        first_chunk_s: Seconds to the first answer text, None if none came.
        end_s: Seconds to the end of the answer.
        error: What went wrong, None for a completed turn.
    """

    first_chunk_s: float | None
    end_s: float
    error: str | None = None


class TurnClient(Protocol):
    """Runs one turn of a session and times it."""

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        """Sends the query of `kind` on `session`."""
        ...


async def _sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """Yields (event, data) pairs of a Server-Sent Event stream."""
    parser = SseLineParser()
    async for line in response.aiter_lines():
        event = parser.feed(line)
        if event is not None:
            yield event.event, event.data


OPERATOR_HEADERS = {"Authorization": f"Bearer {BENCH_ADMIN_TOKEN}"}
"""Sent by the benchmark's client: its sessions are saved under their ids and read back by id."""


class LexClient:
    """`POST /query` in the JSON stream format."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, prefix: str) -> None:
        self.http = http
        self.url = base_url + "/query"
        self.prefix = prefix

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        body = {
            "query": QUERIES[kind],
            "session_id": f"{self.prefix}-{session}",
            "stream_format": "json",
        }
        first: float | None = None
        started = time.perf_counter()
        try:
            async with self.http.stream(
                "POST", self.url, json=body, headers=OPERATOR_HEADERS
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    return TurnTiming(
                        None, time.perf_counter() - started, f"HTTP {response.status_code}"
                    )
                async for event, data in _sse_events(response):
                    if event == "chunk" and first is None:
                        first = time.perf_counter() - started
                    elif event == "end":
                        end = time.perf_counter() - started
                        status = json.loads(data).get("status")
                        error = None if status == "completed" else f"end status {status}"
                        return TurnTiming(first, end, error)
        except httpx.HTTPError as error:
            return TurnTiming(first, time.perf_counter() - started, type(error).__name__)
        return TurnTiming(first, time.perf_counter() - started, "stream closed before end")


class LangGraphDevClient:
    """`POST /threads/{id}/runs/stream` on `langgraph dev`, one thread per session.

    Creating a session's thread is done before its first turn and is not timed.
    """

    def __init__(self, http: httpx.AsyncClient, base_url: str, assistant_id: str = "lex") -> None:
        self.http = http
        self.base_url = base_url
        self.assistant_id = assistant_id
        self.threads: dict[str, str] = {}

    async def _thread(self, session: str) -> str:
        if session not in self.threads:
            response = await self.http.post(self.base_url + "/threads", json={})
            response.raise_for_status()
            self.threads[session] = str(response.json()["thread_id"])
        return self.threads[session]

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        try:
            thread_id = await self._thread(session)
        except httpx.HTTPError as failure:
            return TurnTiming(None, 0.0, f"thread: {type(failure).__name__}")
        body = {
            "assistant_id": self.assistant_id,
            "input": {"messages": [{"role": "human", "content": QUERIES[kind]}]},
            "stream_mode": ["messages-tuple"],
        }
        url = f"{self.base_url}/threads/{thread_id}/runs/stream"
        first: float | None = None
        error: str | None = None
        started = time.perf_counter()
        try:
            async with self.http.stream("POST", url, json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    return TurnTiming(
                        None, time.perf_counter() - started, f"HTTP {response.status_code}"
                    )
                async for event, data in _sse_events(response):
                    if event == "error":
                        error = f"error event: {data[:200]}"
                    elif event == "messages" and first is None and _is_answer_token(data):
                        first = time.perf_counter() - started
        except httpx.HTTPError as failure:
            error = type(failure).__name__
        return TurnTiming(first, time.perf_counter() - started, error)


def _is_answer_token(data: str) -> bool:
    message, metadata = json.loads(data)
    return bool(
        isinstance(message, dict)
        and message.get("type") == "AIMessageChunk"
        and isinstance(message.get("content"), str)
        and message["content"]
        and isinstance(metadata, dict)
        and metadata.get("langgraph_node") == "call_model"
    )


def bench_tools() -> list[BaseTool]:
    """The service's tools on in-memory services (the floor runs them between its calls)."""
    return build_tools(
        ToolServices(appointments=InMemoryAppointmentBook(), weather=SimulatedWeather())
    )


def floor_model(standin_url: str) -> BaseChatModel:
    """ChatGroq configured as the service configures it, pointed at the stand-in.

    Its messages skip the Groq SDK's walk as the service's do (`sending_messages_as_given`).
    """
    model = ChatGroq(
        model=MODEL_NAME,
        api_key=BENCH_API_KEY,  # type: ignore[arg-type]
        base_url=standin_url,
        max_retries=0,
        timeout=REQUEST_TIMEOUT_S,
        streaming=True,
    )
    return sending_messages_as_given(model)


@dataclass
class FloorClient:
    """The model calls of a turn, made directly: the lower bound of any service's latency.

    Each session keeps its conversation as the service would save it, so later turns send the
    same history; with `context_tokens` set it is trimmed as the service trims it.

    Attributes:
        model: ChatGroq with the tools bound.
        tools: The tools, by name, to produce the results the second call sees (not timed).
        context_tokens: The service's context budget, or None when it sends everything.
    """

    model: Runnable[LanguageModelInput, BaseMessage]
    tools: dict[str, BaseTool]
    context_tokens: int | None = None
    sessions: dict[str, list[BaseMessage]] = field(default_factory=dict)

    @classmethod
    def create(cls, standin_url: str, context_tokens: int | None) -> FloorClient:
        """A floor client on the stand-in with the service's tools."""
        tools = bench_tools()
        model = floor_model(standin_url).bind_tools(tools)
        return cls(model, {tool.name: tool for tool in tools}, context_tokens)

    def _prompt(self, history: Sequence[BaseMessage]) -> list[BaseMessage]:
        system = build_system_prompt(
            now=datetime.now(UTC), timezone=TIMEZONE, facts=directory_prompt_lines()
        )
        sent = trim_for_model(history, self.context_tokens) if self.context_tokens else history
        return [SystemMessage(system), *sent]

    async def _call(self, history: Sequence[BaseMessage]) -> tuple[AIMessage, float | None, float]:
        """One streamed model call: the reply, seconds to its first text, seconds in all."""
        started = time.perf_counter()
        first: float | None = None
        reply: AIMessageChunk | None = None
        async for chunk in self.model.astream(self._prompt(history)):
            if not isinstance(chunk, AIMessageChunk):
                continue
            if first is None and chunk.text:
                first = time.perf_counter() - started
            reply = chunk if reply is None else reply + chunk
        elapsed = time.perf_counter() - started
        if reply is None:
            raise RuntimeError("the model streamed nothing")
        return AIMessage(content=reply.content, tool_calls=reply.tool_calls), first, elapsed

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        history = self.sessions.setdefault(session, [])
        history.append(HumanMessage(QUERIES[kind]))
        spent = 0.0
        try:
            for _ in range(5):  # the service's step limit allows a few tool rounds at most
                reply, first, elapsed = await self._call(history)
                history.append(reply)
                if first is not None or not reply.tool_calls:
                    at = spent + first if first is not None else None
                    return TurnTiming(at, spent + elapsed)
                spent += elapsed
                for call in reply.tool_calls:
                    output = await self.tools[call["name"]].ainvoke(call)
                    history.append(_as_tool_message(output, call.get("id") or ""))
        except Exception as error:
            return TurnTiming(None, spent, type(error).__name__)
        return TurnTiming(None, spent, "too many tool rounds")


def _as_tool_message(output: Any, call_id: str) -> ToolMessage:
    if isinstance(output, ToolMessage):
        return output
    return ToolMessage(content=str(output), tool_call_id=call_id)


@dataclass
class RequestReplay:
    """Sends a request Lex made to the model again, with the Groq SDK alone, and times it.

    This is the floor of one turn in the long session: the same system prompt, the same trimmed
    history and the same tools Lex sent at that turn, so whatever the model call itself costs at
    that length is taken out of Lex's time, and what is left is Lex's own work.

    Attributes:
        client: The Groq SDK client, pointed at the stand-in.
    """

    client: AsyncGroq

    @classmethod
    def create(cls, standin_url: str) -> RequestReplay:
        """A replaying client on the stand-in, configured as the service's ChatGroq is."""
        client = AsyncGroq(
            api_key=BENCH_API_KEY, base_url=standin_url, max_retries=0, timeout=REQUEST_TIMEOUT_S
        )
        return cls(client)

    async def seconds(self, body: dict[str, Any]) -> float:
        """Time to the end of the streamed answer to `body`.

        Everything but the model travels in `extra_body`, the messages included, as the service
        sends them: past the SDK's walk over the body (`agent.models.groq_requests`).
        """
        extra = {key: value for key, value in body.items() if key not in ("model", "stream")}
        started = time.perf_counter()
        stream = await self.client.chat.completions.create(
            model=body["model"], messages=[], stream=True, extra_body=extra
        )
        async for _ in stream:
            pass
        return time.perf_counter() - started


class StreamingLexClient:
    """`POST /query` in the JSON stream format over plain HTTP/1.1 keep-alive connections.

    The throughput phases run the load on the same two cores as the servers they measure, so the
    client must cost little beside them. httpx costs about 13 ms of CPU per turn here: its layers
    (httpcore, h11, anyio) run once for every streamed event. This client reads the same bytes with
    asyncio streams, times the first `chunk` event and the `end` event as `LexClient` does, and
    decodes only the data of `end`. Every byte of the answer is still read.

    Args:
        base_url: Where Lex listens (`http://host:port`).
        prefix: Makes the session ids of this client unique.
    """

    def __init__(self, base_url: str, prefix: str) -> None:
        parts = httpx.URL(base_url)
        self.host = parts.host
        self.port = parts.port or 80
        self.prefix = prefix
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def _request(self, session: str, kind: TurnKind) -> bytes:
        body = json.dumps(
            {
                "query": QUERIES[kind],
                "session_id": f"{self.prefix}-{session}",
                "stream_format": "json",
            }
        ).encode()
        head = (
            f"POST /query HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Authorization: {OPERATOR_HEADERS['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def turn(self, session: str, kind: TurnKind) -> TurnTiming:
        request = self._request(session, kind)
        started = time.perf_counter()
        connection = None
        try:
            connection = self._idle.pop() if self._idle else await self._connect()
            timing, reusable = await self._exchange(connection, request, started)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            if connection is not None:
                connection[1].close()
            return TurnTiming(None, time.perf_counter() - started, type(error).__name__)
        if reusable:
            self._idle.append(connection)
        else:
            connection[1].close()
        return timing

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        """Closes the idle connections."""
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

    async def _exchange(
        self,
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        request: bytes,
        started: float,
    ) -> tuple[TurnTiming, bool]:
        reader, writer = connection
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        headers: dict[bytes, bytes] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        reusable = headers.get(b"connection") != b"close"
        first: float | None = None
        tail = b""
        end: float | None = None
        async for data in _body(reader, headers):
            if first is None and b"\nevent: chunk\n" in tail[-32:] + data:
                first = time.perf_counter() - started
            tail = (tail + data)[-4096:]
            if end is None and b"\nevent: end\n" in tail:
                end = time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if status != 200:
            return TurnTiming(None, elapsed, f"HTTP {status}"), reusable
        marker = tail.rfind(b"\nevent: end\ndata: ")
        if end is None or marker < 0:
            return TurnTiming(first, elapsed, "stream closed before end"), reusable
        data_line = tail[marker + len(b"\nevent: end\ndata: ") :].split(b"\n", 1)[0]
        state = json.loads(data_line).get("status")
        error = None if state == "completed" else f"end status {state}"
        return TurnTiming(first, end, error), reusable


async def _body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> AsyncIterator[bytes]:
    """Yields an HTTP/1.1 response body as it arrives (chunked, or by Content-Length)."""
    if headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readline()  # the empty trailer
                return
            chunk = await reader.readexactly(size + 2)
            yield chunk[:-2]
    length = int(headers.get(b"content-length", b"0"))
    if length:
        yield await reader.readexactly(length)
