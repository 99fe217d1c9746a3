"""Liveness: `GET /health`, public in brief and in full for the operator."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.chat_models import OFFLINE_PROVIDER, ChatModelChoice
from api.deps import OperatorFlagDep, ServicesDep
from api.outages import RETRY_AFTER_S
from api.schemas.query import HealthResponse, ModelInfo, ModelResolutionInfo

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
async def health(services: ServicesDep, operator: OperatorFlagDep) -> JSONResponse:
    """Reports whether the service can answer; the operator also sees model, database and Redis.

    Anonymous callers get the status, and whether the offline stand-in answers (the chat page
    says so in a banner): which provider and model answer, and why they fail (a rejected key),
    are for the operator (`Authorization: Bearer <ADMIN_TOKEN>`).
    """
    choice = services.chat_model
    model = model_info(choice, services.model_health.operator_error)
    database = await probe("database", services.storage.ping)
    coordination = await probe("coordination", services.turns.ping)
    healthy = database == "ok" and coordination == "ok"
    status = "unhealthy" if not healthy else "degraded" if model.error else "healthy"
    offline = choice.provider == OFFLINE_PROVIDER
    body = HealthResponse(
        status=status, offline=offline, model=model, database=database, coordination=coordination
    )
    public = {"status": status, "offline": offline}
    shown = body.model_dump() if operator else public
    if healthy:
        return JSONResponse(shown)
    return JSONResponse(shown, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


async def probe(part: str, ping: Callable[[], Awaitable[object]]) -> str:
    """Pings one part the service needs: "ok", else "unreachable: <exception type>" (logged).

    Args:
        part: Its name in the log, e.g. "database".
        ping: A cheap round trip to it.
    """
    try:
        await ping()
    except Exception as exc:
        logger.warning("%s health check failed: %s", part, exc)
        return f"unreachable: {type(exc).__name__}"
    return "ok"


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
