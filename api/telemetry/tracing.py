"""Traces, off by default: OpenTelemetry spans over OTLP/HTTP, and LangSmith runs.

- `OTEL_EXPORTER_OTLP_ENDPOINT` set: spans HTTP request → turn → model call / tool call, exported
  in batches over OTLP/HTTP (`<endpoint>/v1/traces`) by a tracer provider of Lex's own (the global
  one is left alone). Spans carry ids, models, tools, statuses and token counts, never text.
- `LANGSMITH_API_KEY` set: every turn is traced to LangSmith through LangChain's own tracer, the
  one LangGraph uses (`LANGSMITH_PROJECT`, `LANGSMITH_ENDPOINT`). LangSmith runs hold the
  conversation: that is what they are for.
- Neither: no tracer is built, nothing is imported from OpenTelemetry, no connection is made.

The OpenTelemetry packages are the optional `otel` extra; asking for spans without them fails at
startup with a message that says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

logger = logging.getLogger(__name__)

TRACER_NAME = "lex"
TRACES_PATH = "/v1/traces"


class RequestSpan:
    """The span of one HTTP request, named once the route is known (a no-op without tracing)."""

    def __init__(self, span: Span | None = None, method: str = "") -> None:
        self._span = span
        self._method = method

    def name_route(self, route: str, status: int) -> None:
        """Names the span after its route template and records the response status."""
        if self._span is None:
            return
        self._span.update_name(f"{self._method} {route}")
        self._span.set_attribute("http.route", route)
        self._span.set_attribute("http.response.status_code", status)
        if status >= 500:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_status(Status(StatusCode.ERROR))


@dataclass
class Tracing:
    """What traces a request and a turn: OpenTelemetry, LangSmith, both or neither.

    Attributes:
        provider: The OpenTelemetry tracer provider, None when spans are off.
        langsmith: Builds the LangSmith tracer of a turn, None when LangSmith is off.
    """

    provider: TracerProvider | None = None
    langsmith: Any = None
    _tracer: Tracer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.provider is not None:
            self._tracer = self.provider.get_tracer(TRACER_NAME)

    @property
    def enabled(self) -> bool:
        """Whether anything is traced."""
        return self._tracer is not None or self.langsmith is not None

    @contextmanager
    def request_span(self, method: str, request_id: str) -> Iterator[RequestSpan]:
        """Opens the span of an HTTP request, current until the response is sent."""
        if self._tracer is None:
            yield RequestSpan()
            return
        from opentelemetry.trace import SpanKind

        attributes = {"http.request.method": method, "lex.request_id": request_id}
        with self._tracer.start_as_current_span(
            f"{method} request", kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield RequestSpan(span, method)

    def turn_span(self, session: str, run_id: str) -> AbstractContextManager[Any]:
        """Opens the span of a turn, current while the graph runs (model and tool spans nest)."""
        if self._tracer is None:
            return nullcontext()
        attributes = {"lex.session": session, "lex.run_id": run_id}
        return self._tracer.start_as_current_span("turn", attributes=attributes)

    def callbacks(self, run_id: str) -> list[BaseCallbackHandler]:
        """Returns the LangChain callback handlers that trace one turn's model and tool calls."""
        handlers: list[BaseCallbackHandler] = []
        if self._tracer is not None:
            handlers.append(SpanRecorder(self._tracer))
        if self.langsmith is not None:
            handlers.append(self.langsmith())
        return handlers

    def shutdown(self) -> None:
        """Sends the spans still buffered and stops the exporter."""
        if self.provider is not None:
            self.provider.shutdown()


def otlp_traces_url(endpoint: str) -> str:
    """Returns the OTLP/HTTP traces URL of a collector's base endpoint."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


def open_tracing(
    *,
    otlp_endpoint: str | None,
    service_name: str,
    langsmith_api_key: str | None,
    langsmith_project: str | None,
    langsmith_endpoint: str | None,
) -> Tracing:
    """Builds the tracing the settings ask for; nothing at all when they ask for none."""
    provider = _otel_provider(otlp_endpoint, service_name) if otlp_endpoint else None
    langsmith = (
        _langsmith_tracer_factory(langsmith_api_key, langsmith_project, langsmith_endpoint)
        if langsmith_api_key
        else None
    )
    return Tracing(provider=provider, langsmith=langsmith)


def _otel_provider(endpoint: str, service_name: str) -> TracerProvider:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry packages are missing: "
            "pip install 'lex[otel]'"
        ) from error
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=otlp_traces_url(endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    logger.info("tracing: OpenTelemetry spans to %s", otlp_traces_url(endpoint))
    return provider


def _langsmith_tracer_factory(api_key: str, project: str | None, endpoint: str | None) -> Any:
    from langchain_core.tracers.langchain import LangChainTracer
    from langsmith import Client

    client = Client(api_url=endpoint, api_key=api_key)
    logger.info("tracing: LangSmith project %s", project or "default")

    def tracer() -> BaseCallbackHandler:
        return LangChainTracer(project_name=project, client=client)

    return tracer


class SpanRecorder(BaseCallbackHandler):
    """Opens a span per model call and per tool call, under the turn's span.

    Args:
        tracer: The tracer spans are made with.
    """

    run_inline = True  # in the node's task, so the turn's span is the current one

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._spans: dict[UUID, Span] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Opens the span of a model call."""
        from api.telemetry.model_calls import model_name_of

        model = model_name_of(metadata, kwargs.get("invocation_params"))
        self._spans[run_id] = self._tracer.start_span(
            "model call", attributes={"gen_ai.request.model": model}
        )

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Closes a model call's span with its token counts."""
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        from api.telemetry.model_calls import token_usage

        input_tokens, output_tokens = token_usage(response)
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        span.end()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Closes a model call's span as failed."""
        self._fail(run_id, error)

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        """Opens the span of a tool call (its arguments are not recorded)."""
        name = str(serialized.get("name") or kwargs.get("name") or "tool")
        self._spans[run_id] = self._tracer.start_span(
            f"tool {name}", attributes={"gen_ai.tool.name": name}
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Closes a tool call's span."""
        span = self._spans.pop(run_id, None)
        if span is not None:
            span.end()

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Closes a tool call's span as failed."""
        self._fail(run_id, error)

    def _fail(self, run_id: UUID, error: BaseException) -> None:
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)
        span.end()
