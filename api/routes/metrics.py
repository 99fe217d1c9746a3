"""`GET /metrics`: Lex's Prometheus metrics, for the operator's token only.

Counts of turns, failures, models and routes tell a competitor or an attacker how busy the
service is and what fails, so the route answers only `Authorization: Bearer <ADMIN_TOKEN>`
(Prometheus sends it from a file: `authorization.credentials_file`). `METRICS_ENABLED=false`
removes the route altogether.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import AdminDep
from api.telemetry.metrics import CONTENT_TYPE, LexMetrics

router = APIRouter(tags=["operations"], dependencies=[AdminDep])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of every Lex metric (all workers summed)."""
    lex_metrics: LexMetrics = request.app.state.metrics
    return Response(lex_metrics.exposition(), media_type=CONTENT_TYPE)
