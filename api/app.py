"""The composition root: reads settings, opens the database, wires model, tools and graph.

`create_app` takes everything a test may want to replace (settings, chat model, clock) and builds
the real parts for the rest. The lifespan owns the database connections: opened at startup with
their tables set up, closed at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
)
from pathlib import Path

from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel

from agent.state import DELTA_CHANNELS
from api.auth import ServerSecrets
from api.booking_limit import ClientBookingQuota
from api.chat_models import ChatModelChoice, choose_chat_model, recheck_served_models
from api.errors import install_error_handlers
from api.hosts import AllowedHosts
from api.limits import RequestBodyLimit
from api.local_secrets import BINDING_KEY_FILE, admin_token_path, read_or_create_secret
from api.maintenance import Maintenance
from api.origins import CorsForPublicRoutes
from api.outages import install_outage_handlers
from api.process_lock import check_workers, lock_path_for, single_process_lock
from api.rate_limits import MEMORY_URL, LibraryLimits, LimitRules, TurnSlots
from api.routes import health, page, query, sessions, turns
from api.routes import metrics as metrics_route
from api.routes.docs import install_docs
from api.security_headers import SecurityHeaders
from api.services import LexServices
from api.settings import Settings
from api.telemetry.logs import configure_logging
from api.telemetry.metrics import LexMetrics, mark_process_dead
from api.telemetry.requests import RequestTelemetry
from api.telemetry.tracing import Tracing, open_tracing
from api.telemetry.turns import TurnTelemetry
from api.turns.coordination.base import TurnCoordinator
from api.turns.coordination.local import TurnManager
from api.turns.coordination.redis import open_redis_coordinator
from api.turns.executor import ModelHealth, TurnExecutor
from api.wiring import build_lex_graph, make_tool_services
from checkpoints.head_cache import HeadCachingSaver
from checkpoints.postgres.pool import is_postgres_url
from checkpoints.postgres.storage import open_postgres_storage
from checkpoints.saver import sqlite_path
from checkpoints.storage import Storage, open_sqlite_storage
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)


def open_storage(
    settings: Settings, clock: Clock = utc_now
) -> AbstractAsyncContextManager[Storage]:
    """Returns the storage `DATABASE_URL` names: Postgres, or a SQLite file (the default)."""
    if is_postgres_url(settings.database_url):
        return open_postgres_storage(
            settings.database_url,
            pool_size=settings.database_pool_size,
            pool_timeout_s=settings.database_pool_timeout_s,
            clock=clock,
        )
    return open_sqlite_storage(sqlite_path(settings.database_url), clock)


def substituted_models(choice: ChatModelChoice) -> Iterable[str]:
    """The model answering in place of a configured one Groq retired, read afresh every turn."""
    return choice.groq.substituted if choice.groq is not None else frozenset()


def open_tracing_for(settings: Settings) -> Tracing:
    """Returns the tracing the settings ask for (nothing when they ask for none)."""
    key = settings.langsmith_api_key
    return open_tracing(
        otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        service_name=settings.otel_service_name,
        langsmith_api_key=key.get_secret_value() if key else None,
        langsmith_project=settings.langsmith_project,
        langsmith_endpoint=settings.langsmith_endpoint,
    )


async def open_services(
    stack: AsyncExitStack,
    settings: Settings,
    choice: ChatModelChoice,
    clock: Clock,
    telemetry: TurnTelemetry | None = None,
) -> LexServices:
    """Opens the database and builds every live part; `stack` closes them at shutdown."""
    telemetry = telemetry or TurnTelemetry()
    storage = await stack.enter_async_context(open_storage(settings, clock))
    limits = build_limits(settings)
    stack.push_async_callback(limits.aclose)
    quota = ClientBookingQuota(limits, telemetry.metrics)
    services = make_tool_services(settings, storage.appointments, clock, quota)
    # The graph reads sessions through the head cache; everything else uses the saver directly.
    checkpointer = HeadCachingSaver(storage.checkpointer, DELTA_CHANNELS)
    graph = build_lex_graph(settings, choice, services, checkpointer=checkpointer, clock=clock)
    health = ModelHealth()
    executor = TurnExecutor(
        graph,
        turn_timeout_s=settings.turn_timeout_s,
        health=health,
        durability=settings.checkpoint_durability,
        clock=clock,
        telemetry=telemetry,
    )
    turns = await stack.enter_async_context(open_turn_coordinator(settings))
    maintenance = Maintenance(
        storage.checkpointer,
        storage.sessions,
        turns,
        list(DELTA_CHANNELS),
        studio_step_turns=settings.studio_step_turns,
        session_ttl_days=settings.session_ttl_days,
        interval_s=settings.retention_interval_s,
        clock=clock,
    )
    logger.info(
        "Lex ready: model=%s/%s db=%s", choice.provider, choice.current_name, storage.engine
    )
    return LexServices(
        settings,
        graph,
        storage.checkpointer,
        choice,
        turns,
        executor,
        health,
        storage,
        maintenance,
        server_secrets(settings),
        limits,
        TurnSlots(settings.max_running_turns),
    )


def start_model_recheck(stack: AsyncExitStack, settings: Settings, choice: ChatModelChoice) -> None:
    """Re-lists Groq's served models in the background, so a retirement needs no restart."""
    if choice.groq is None or settings.model_recheck_interval_s <= 0:
        return
    if settings.groq_api_key is None:
        return
    task = asyncio.create_task(
        recheck_served_models(choice.groq, settings.model_recheck_interval_s),
        name="lex-model-recheck",
    )

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


@asynccontextmanager
async def open_turn_coordinator(settings: Settings) -> AsyncIterator[TurnCoordinator]:
    """Yields the coordination `REDIS_URL` names: Redis (several processes), else in-process."""
    if settings.redis_url is None:
        yield TurnManager(on_busy=settings.on_busy)
        return
    async with open_redis_coordinator(
        settings.redis_url,
        key_prefix=settings.redis_key_prefix,
        on_busy=settings.on_busy,
        lease_s=settings.turn_lease_s,
        finished_ttl_s=settings.finished_turn_ttl_s,
    ) as coordinator:
        yield coordinator


def scales_out(settings: Settings) -> bool:
    """Whether storage, coordination and the limits are shared, so several processes may serve.

    Limits counted in one process's memory would let each process grant a client its whole
    allowance again (bookings included), so they must be in Redis too.
    """
    return (
        is_postgres_url(settings.database_url)
        and settings.redis_url is not None
        and not settings.limits_storage_url.startswith(MEMORY_URL)
    )


def single_process_lock_for(settings: Settings) -> AbstractContextManager[None]:
    """Returns the lock that keeps a second process off storage only one process may use."""
    if is_postgres_url(settings.database_url):
        return single_process_lock(lock_path_for(settings.database_url, None), "this database")
    database = sqlite_path(settings.database_url)
    return single_process_lock(lock_path_for(settings.database_url, database), str(database))


def build_limits(settings: Settings) -> LibraryLimits:
    """Returns the abuse limits the settings ask for, counted where `limits_storage_url` says."""
    rules = LimitRules(
        query_rate=settings.query_rate_limit,
        session_turns=settings.session_turn_limit,
        daily_tokens=settings.daily_token_budget,
        session_creates=settings.session_create_rate_limit,
        bookings=settings.booking_rate_limit,
    )
    prefix = f"{settings.redis_key_prefix}limits"
    return LibraryLimits(rules, settings.limits_storage_url, key_prefix=prefix)


def read_admin_token_file(path: Path) -> str:
    """Returns the operator's token kept in `path` (ADMIN_TOKEN_FILE), stripped of whitespace.

    Raises:
        ValueError: The file is missing, unreadable or empty: better no start than a service
            whose operator (and Prometheus, reading the same file) is locked out.
    """
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"ADMIN_TOKEN_FILE {path} cannot be read: {exc.strerror}") from None
    if not token:
        raise ValueError(f"ADMIN_TOKEN_FILE {path} is empty")
    return token


def server_secrets(settings: Settings) -> ServerSecrets:
    """Returns the admin token and binding key: configured, else made once and kept in DATA_DIR."""
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if settings.admin_token_file is not None:
        admin_token = read_admin_token_file(settings.admin_token_file)
    if admin_token is None:
        path = admin_token_path(settings.data_path)
        admin_token, made = read_or_create_secret(path)
        logger.warning(
            "%s the operator's token (ADMIN_TOKEN) in %s; lex sessions and lex replay read it "
            "from there",
            "Made" if made else "Using",
            path.resolve(),
        )
    binding_key = (
        settings.session_binding_key.get_secret_value() if settings.session_binding_key else None
    )
    if binding_key is None:
        binding_key, _ = read_or_create_secret(settings.data_path / BINDING_KEY_FILE)
    return ServerSecrets(admin_token=admin_token, binding_key=binding_key)


def create_app(
    settings: Settings | None = None,
    *,
    chat_model: BaseChatModel | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """Builds the Lex FastAPI application.

    Args:
        settings: Configuration; read from the environment and `.env` when None.
        chat_model: A model to use instead of the one the settings choose (tests).
        clock: Source of "now" for the prompt, the tools, bookings and the session list.
    """
    settings = settings or Settings()
    configure_logging(
        settings.log_level, settings.log_format, customer_text=settings.log_customer_text
    )
    metrics = LexMetrics.create()
    tracing = open_tracing_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if chat_model is not None:
            choice = ChatModelChoice(chat_model, "custom", type(chat_model).__name__)
        else:
            # Listing Groq's served models is a blocking HTTP call.
            choice = await asyncio.to_thread(choose_chat_model, settings, clock)
        telemetry = TurnTelemetry(
            metrics,
            tracing,
            substituted_models(choice),
            log_customer_text=settings.log_customer_text,
        )
        shared = scales_out(settings)
        check_workers(settings.workers, shared=shared)
        if choice.groq is not None:
            choice.groq.listeners.append(metrics.count_model_switch)
        async with AsyncExitStack() as stack:
            if not shared:
                stack.enter_context(single_process_lock_for(settings))
            stack.callback(mark_process_dead, os.getpid())
            stack.callback(tracing.shutdown)
            services = await open_services(stack, settings, choice, clock, telemetry)
            start_model_recheck(stack, settings, choice)
            app.state.lex = services
            services.maintenance.start()
            # What start-up built (modules, the compiled graph) lives as long as the process: the
            # collector need not scan it again at every full collection.
            gc.freeze()
            try:
                yield
            finally:
                # Before the database closes: running turns finish or are repaired.
                await services.turns.shutdown(settings.shutdown_grace_s)
                await services.maintenance.stop()
        logger.info("Lex stopped")

    app = FastAPI(
        title="Lex",
        summary="SuperCar's virtual sales assistant, streamed as Server-Sent Events.",
        version="0.1.0",
        lifespan=lifespan,
        # The schema is the operator's and the page a development aid: install_docs serves them.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_middleware(app, settings, metrics, tracing)
    install_error_handlers(app)
    install_outage_handlers(app)
    install_routes(app, settings)
    return app


def install_middleware(
    app: FastAPI, settings: Settings, metrics: LexMetrics, tracing: Tracing
) -> None:
    """Adds the body limit, CORS, the host check, security headers and telemetry, outermost last.

    The body limit runs inside CORS, so its 413/415 answers still carry CORS headers; a request
    for an unknown host is refused before CORS or a route sees it; request telemetry wraps
    everything, so every answer (a 413, a refused host, a CORS refusal) is counted and has an id.
    """
    app.add_middleware(RequestBodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CorsForPublicRoutes, allow_origins=settings.cors_origin_list)
    app.add_middleware(AllowedHosts, allowed=settings.allowed_host_list)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestTelemetry, metrics=metrics, tracing=tracing)


def install_routes(app: FastAPI, settings: Settings) -> None:
    """Includes one router per resource, the API's description and the chat page's files."""
    for router in (page.router, health.router, query.router, turns.router, sessions.router):
        app.include_router(router)
    if settings.metrics_enabled:
        app.include_router(metrics_route.router)
    install_docs(app, page=settings.api_docs)
    page.mount_static(app)
