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
from langgraph.types import RetryPolicy

from agent.graph import Clock, compile_graph, utc_now
from api.chat_models import ChatModelChoice, choose_chat_model
from api.errors import install_error_handlers
from api.limits import RequestBodyLimit
from api.routes import health, page, query, sessions, turns
from api.services import LexServices
from api.settings import Settings
from api.turns.executor import ModelHealth, TurnExecutor
from api.turns.failures import FALLBACK_ON, is_tool_use_failed
from api.turns.manager import TurnManager
from checkpoints.postgres.pool import is_postgres_url
from checkpoints.postgres.storage import open_postgres_storage
from checkpoints.saver import sqlite_path
from checkpoints.storage import Storage, open_sqlite_storage
from tools import ToolServices, build_tools
from tools.domain.directory import directory_prompt_lines
from tools.domain.weather import OpenMeteoWeather, SimulatedWeather, WeatherProvider

logger = logging.getLogger(__name__)


def configure_logging(level: str) -> None:
    """Gives the root logger a handler unless the server (uvicorn) already configured one."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root.setLevel(level.upper())


def make_weather(settings: Settings) -> WeatherProvider:
    """Returns the weather provider the settings ask for."""
    simulated = SimulatedWeather()
    if settings.weather_provider == "open-meteo":
        return OpenMeteoWeather(fallback=simulated)
    return simulated


def open_storage(settings: Settings) -> AbstractAsyncContextManager[Storage]:
    """Returns the storage `DATABASE_URL` names: Postgres, or a SQLite file (the default).

    The session list keeps wall-clock times whatever clock the prompt and tools are given.
    """
    if is_postgres_url(settings.database_url):
        return open_postgres_storage(settings.database_url, pool_size=settings.database_pool_size)
    return open_sqlite_storage(sqlite_path(settings.database_url))


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
        clock: Source of "now" for the prompt and the tools.
    """
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        choice = choose_chat_model(settings)
        if chat_model is not None:
            choice = ChatModelChoice(chat_model, "custom", type(chat_model).__name__)
        async with AsyncExitStack() as stack:
            storage = await stack.enter_async_context(open_storage(settings))
            tools = build_tools(
                ToolServices(
                    appointments=storage.appointments, weather=make_weather(settings), clock=clock
                )
            )
            graph = compile_graph(
                choice.model,
                tools,
                checkpointer=storage.checkpointer,
                clock=clock,
                prompt_facts=directory_prompt_lines(),
                fallback_models=choice.fallbacks,
                fallback_on=FALLBACK_ON,
                context_tokens=settings.context_tokens,
                model_named=choice.model_named,
                model_retry=RetryPolicy(
                    max_attempts=settings.tool_use_failed_attempts,
                    initial_interval=0.2,
                    retry_on=is_tool_use_failed,
                ),
            )
            health = ModelHealth()
            executor = TurnExecutor(
                graph,
                turn_timeout_s=settings.turn_timeout_s,
                health=health,
                durability=settings.checkpoint_durability,
                clock=clock,
            )
            turns = TurnManager(on_busy=settings.on_busy)
            app.state.lex = LexServices(
                settings, graph, storage.checkpointer, choice, turns, executor, health, storage
            )
            logger.info(
                "Lex ready: model=%s/%s db=%s", choice.provider, choice.model_name, storage.engine
            )
            try:
                yield
            finally:
                # Before the database closes: running turns finish or are repaired.
                await turns.shutdown(settings.shutdown_grace_s)
        logger.info("Lex stopped")

    app = FastAPI(
        title="Lex",
        summary="SuperCar's virtual sales assistant, streamed as Server-Sent Events.",
        version="0.1.0",
        lifespan=lifespan,
    )
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
    install_error_handlers(app)
    app.include_router(page.router)
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(turns.router)
    app.include_router(sessions.router)
    page.mount_static(app)
    return app
