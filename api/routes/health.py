"""Liveness and the status document: `GET /health`, and what `GET /` answers JSON clients."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.chat_models import ChatModelChoice
from api.deps import ServicesDep
from api.schemas.query import HealthResponse, ModelInfo, ModelResolutionInfo
from api.services import LexServices

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(services: ServicesDep) -> JSONResponse:
    """Reports whether the service can answer: the model, the database and Redis (if used)."""
    model = model_info(services.chat_model, services.model_health.operator_error)
    try:
        await services.storage.ping()
        database = "ok"
    except Exception as exc:
        logger.warning("database health check failed: %s", exc)
        database = f"unreachable: {type(exc).__name__}"
    try:
        await services.turns.ping()
        coordination = "ok"
    except Exception as exc:
        logger.warning("coordination health check failed: %s", exc)
        coordination = f"unreachable: {type(exc).__name__}"
    healthy = database == "ok" and coordination == "ok"
    status = "unhealthy" if not healthy else "degraded" if model.error else "healthy"
    body = HealthResponse(status=status, model=model, database=database, coordination=coordination)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def model_info(choice: ChatModelChoice, error: str | None) -> ModelInfo:
    """What `/health` says about the model: the one answering now and how it was chosen."""
    if choice.groq is None:
        return ModelInfo(
            provider=choice.provider, name=choice.model_name, warning=choice.warning, error=error
        )
    resolution = choice.groq.resolution
    warning = choice.warning
    if resolution.replaced is not None or resolution.served is None:
        warning = resolution.reason
    return ModelInfo(
        provider=choice.provider,
        name=resolution.model,
        warning=warning,
        error=error,
        resolution=ModelResolutionInfo(
            requested=resolution.requested,
            answering=resolution.model,
            replaced=resolution.replaced,
            reason=resolution.reason,
            fallbacks=list(resolution.fallbacks),
            served_listed=resolution.served is not None,
            substitutions=choice.groq.switches["substitution"],
            fallbacks_taken=choice.groq.switches["fallback"],
        ),
    )


def status_document(services: LexServices) -> dict[str, Any]:
    """A small status document, as the original backend answered at `GET /`.

    `api.routes.page` serves it on `GET /` to every client that does not ask for HTML.
    """
    return {
        "service": "Lex, the SuperCar virtual sales assistant",
        "status": "ok",
        "model": services.chat_model.current_name,
        "endpoints": {"query": "POST /query", "health": "GET /health", "docs": "GET /docs"},
    }
