"""`GET /metrics`: Lex's Prometheus metrics, served only when `METRICS_ENABLED=true`.

It is off by default because it answers anyone who reaches the port: turn it on where only the
monitoring network does (the compose file's Prometheus scrapes it on the internal network).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.telemetry.metrics import CONTENT_TYPE, LexMetrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of every Lex metric (all workers summed)."""
    lex_metrics: LexMetrics = request.app.state.metrics
    return Response(lex_metrics.exposition(), media_type=CONTENT_TYPE)
