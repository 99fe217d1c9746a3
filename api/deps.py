"""FastAPI dependencies: the live services the lifespan built, as a typed alias for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import LexServices


def get_services(request: Request) -> LexServices:
    """Returns the services built by the application's lifespan."""
    services: LexServices = request.app.state.lex
    return services


ServicesDep = Annotated[LexServices, Depends(get_services)]
