"""Request telemetry on a bare ASGI app: ids in and out, counts by route template and status."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.telemetry.metrics import LexMetrics
from api.telemetry.requests import RequestTelemetry
from api.telemetry.tracing import Tracing


async def limited(request: Request) -> JSONResponse:
    return JSONResponse({"error": "slow down"}, status_code=429)


async def test_answers_of_429_count_as_rate_limited_by_route_template() -> None:
    metrics = LexMetrics.create()
    app = RequestTelemetry(
        Starlette(routes=[Route("/things/{thing_id}", limited)]),
        metrics=metrics,
        tracing=Tracing(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lex") as client:
        for thing in ("a", "b"):
            response = await client.get(f"/things/{thing}")
            assert response.status_code == 429
            assert len(response.headers["x-request-id"]) == 32
        assert (await client.get("/nowhere")).status_code == 404
    sample = metrics.registry.get_sample_value
    assert sample("lex_rate_limited_requests_total", {"route": "/things/{thing_id}"}) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample("lex_http_requests_total", unmatched) == 1
