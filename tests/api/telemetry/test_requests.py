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


async def busy(request: Request) -> JSONResponse:
    return JSONResponse({"error": "busy"}, status_code=503, headers={"Retry-After": "2"})


async def unhealthy(request: Request) -> JSONResponse:
    return JSONResponse({"status": "unhealthy"}, status_code=503)


async def test_refusals_by_a_limit_count_as_rate_limited_by_route_template_and_status() -> None:
    metrics = LexMetrics.create()
    app = RequestTelemetry(
        Starlette(
            routes=[
                Route("/things/{thing_id}", limited),
                Route("/busy", busy),
                Route("/health", unhealthy),
            ]
        ),
        metrics=metrics,
        tracing=Tracing(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lex") as client:
        for thing in ("a", "b"):
            response = await client.get(f"/things/{thing}")
            assert response.status_code == 429
            assert len(response.headers["x-request-id"]) == 32
        assert (await client.get("/busy")).status_code == 503
        assert (await client.get("/health")).status_code == 503
        assert (await client.get("/nowhere")).status_code == 404
    sample = metrics.registry.get_sample_value
    limited_things = {"route": "/things/{thing_id}", "status": "429"}
    assert sample("lex_rate_limited_requests_total", limited_things) == 2
    assert sample("lex_rate_limited_requests_total", {"route": "/busy", "status": "503"}) == 1
    # A 503 that names no time to come back is a failure, not a limit.
    assert sample("lex_rate_limited_requests_total", {"route": "/health", "status": "503"}) is None
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample("lex_http_requests_total", unmatched) == 1
