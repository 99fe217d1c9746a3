"""The composition root: reads settings, opens the database, wires model, tools and graph.

`create_app` takes everything a test may want to replace (settings, chat model, clock) and builds
the real parts for the rest. The lifespan owns the database connections: opened at startup with
their tables set up, closed at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from langchain_core.language_models import BaseChatModel

from agent.state import DELTA_CHANNELS
from api.chat_models import ChatModelChoice, choose_chat_model
from api.errors import install_error_handlers
from api.limits import RequestBodyLimit
from api.routes import health, page, query, sessions, turns
from api.services import LexServices
from api.settings import Settings
from api.turns.executor import ModelHealth, TurnExecutor
from api.turns.manager import TurnManager
from api.wiring import build_lex_graph, make_weather
from checkpoints.head_cache import HeadCachingSaver
from checkpoints.postgres.pool import is_postgres_url
from checkpoints.postgres.storage import open_postgres_storage
from checkpoints.saver import sqlite_path
from checkpoints.storage import Storage, open_sqlite_storage
from tools import ToolServices
from tools.domain.clock import Clock, utc_now

logger = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """Gives the root logger a handler unless the server (uvicorn) already configured one."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level.upper())


def open_storage(
    settings: Settings, clock: Clock = utc_now
) -> AbstractAsyncContextManager[Storage]:
    """Returns the storage `DATABASE_URL` names: Postgres, or a SQLite file (the default)."""
    if is_postgres_url(settings.database_url):
        return open_postgres_storage(
            settings.database_url, pool_size=settings.database_pool_size, clock=clock
        )
    return open_sqlite_storage(sqlite_path(settings.database_url), clock)


async def open_services(
    stack: AsyncExitStack,
    settings: Settings,
    choice: ChatModelChoice,
    clock: Clock,
) -> LexServices:
    """Opens the database and builds every live part; `stack` closes them at shutdown."""
    storage = await stack.enter_async_context(open_storage(settings, clock))
    services = ToolServices(
        appointments=storage.appointments, weather=make_weather(settings), clock=clock
    )
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
    )
    turns = TurnManager(on_busy=settings.on_busy)
    logger.info("Lex ready: model=%s/%s db=%s", choice.provider, choice.model_name, storage.engine)
    return LexServices(
        settings, graph, storage.checkpointer, choice, turns, executor, health, storage
    )


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
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        choice = choose_chat_model(settings)
        if chat_model is not None:
            choice = ChatModelChoice(chat_model, "custom", type(chat_model).__name__)
        async with AsyncExitStack() as stack:
            services = await open_services(stack, settings, choice, clock)
            app.state.lex = services
            try:
                yield
            finally:
                # Before the database closes: running turns finish or are repaired.
                await services.turns.shutdown(settings.shutdown_grace_s)
        logger.info("Lex stopped")

    app = FastAPI(
        title="Lex",
        summary="SuperCar's virtual sales assistant, streamed as Server-Sent Events.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_middleware(app, settings)
    install_error_handlers(app)
    install_routes(app)
    return app


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Adds the body limit and CORS, in the order that keeps CORS headers on 413/415 answers."""
    # Added first so it runs inside CORS: its 413/415 answers still carry CORS headers.
    app.add_middleware(RequestBodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_credentials=False,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
    )


def install_routes(app: FastAPI) -> None:
    """Includes one router per resource and the chat page's static files."""
    for router in (page.router, health.router, query.router, turns.router, sessions.router):
        app.include_router(router)
    page.mount_static(app)
