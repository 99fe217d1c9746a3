"""Liveness and the status document: `GET /health`, and what `GET /` answers JSON clients."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.schemas.query import HealthResponse, ModelInfo
from api.services import LexServices

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(services: ServicesDep) -> JSONResponse:
    """Reports whether the service can answer: the model in use and the database."""
    choice = services.chat_model
    model = ModelInfo(
        provider=choice.provider,
        name=choice.model_name,
        warning=choice.warning,
        error=services.model_health.operator_error,
    )
    try:
        await services.storage.ping()
        database = "ok"
    except Exception as exc:
        logger.warning("database health check failed: %s", exc)
        database = f"unreachable: {type(exc).__name__}"
    healthy = database == "ok"
    status = "unhealthy" if not healthy else "degraded" if model.error else "healthy"
    body = HealthResponse(status=status, model=model, database=database)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def status_document(services: LexServices) -> dict[str, Any]:
    """A small status document, as the original backend answered at `GET /`.

    `api.routes.page` serves it on `GET /` to every client that does not ask for HTML.
    """
    return {
        "service": "Lex, the SuperCar virtual sales assistant",
        "status": "ok",
        "model": services.chat_model.model_name,
        "endpoints": {"query": "POST /query", "health": "GET /health", "docs": "GET /docs"},
    }
