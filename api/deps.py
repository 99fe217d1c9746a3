"""FastAPI dependencies: the live services, and who the caller is (operator, session owner)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth import (
    UNAUTHORIZED_HEADERS,
    Conversation,
    Role,
    bearer_token,
    bound_key,
    client_binding,
    is_admin,
    secret_matches,
)
from api.errors import ApiError
from api.schemas.query import SessionIdPath
from api.services import LexServices


def get_services(request: Request) -> LexServices:
    """Returns the services built by the application's lifespan."""
    services: LexServices = request.app.state.lex
    return services


ServicesDep = Annotated[LexServices, Depends(get_services)]


def is_operator(request: Request, services: ServicesDep) -> bool:
    """Whether the request carries the operator's token (anonymous callers are not refused)."""
    return is_admin(bearer_token(request), services.secrets)


OperatorFlagDep = Annotated[bool, Depends(is_operator)]
"""True for the operator, False for anyone else: for routes that show operators more."""


def require_admin(request: Request, services: ServicesDep) -> None:
    """Refuses every caller but the operator (`Authorization: Bearer <ADMIN_TOKEN>`).

    Raises:
        ApiError: 401 without the operator's token.
    """
    if not is_admin(bearer_token(request), services.secrets):
        raise ApiError(
            401,
            "unauthorized",
            "This route is for the operator: send Authorization: Bearer <ADMIN_TOKEN>.",
            headers=UNAUTHORIZED_HEADERS,
        )


AdminDep = Depends(require_admin)
"""Put in a route's or router's `dependencies=[AdminDep]` to keep it to the operator."""


async def session_access(
    session_id: SessionIdPath, request: Request, services: ServicesDep
) -> Conversation:
    """Returns the session a `/sessions/{session_id}` route acts on, for its owner or the operator.

    Raises:
        ApiError: 401 without a credential; 403 when it opens no session of that id (the same
            answer whether the session exists or not).
    """
    token = bearer_token(request)
    if token is None:
        raise ApiError(
            401,
            "unauthorized",
            "Send the session's secret (from POST /sessions) as Authorization: Bearer <secret>.",
            headers=UNAUTHORIZED_HEADERS,
        )
    if is_admin(token, services.secrets):
        return Conversation(session_id, session_id, Role.OPERATOR)
    if secret_matches(token, await services.sessions.secret_hash(session_id)):
        return Conversation(session_id, session_id, Role.OWNER)
    raise ApiError(403, "forbidden", "This credential does not open that session.")


SessionAccessDep = Annotated[Conversation, Depends(session_access)]


async def query_conversation(
    session_id: str, request: Request, services: LexServices
) -> Conversation:
    """Returns the conversation a `POST /query` acts on.

    With a bearer credential: the operator's token or the session's secret (a session created by
    `POST /sessions` refuses anything else). Without one, and for a session nobody created: the
    client-bound conversation of that id.

    Raises:
        ApiError: 401 for a session created with a secret and no credential sent; 403 for a
            credential that does not open the session.
    """
    token = bearer_token(request)
    stored_hash = await services.sessions.secret_hash(session_id)
    if token is not None:
        if is_admin(token, services.secrets):
            return Conversation(session_id, session_id, Role.OPERATOR)
        if secret_matches(token, stored_hash):
            return Conversation(session_id, session_id, Role.OWNER)
        raise ApiError(403, "forbidden", "This credential does not open that session.")
    if stored_hash is not None:
        raise ApiError(
            401,
            "unauthorized",
            "This session was created with a secret: send it as Authorization: Bearer <secret>.",
            headers=UNAUTHORIZED_HEADERS,
        )
    binding = client_binding(request, services.settings.trusted_proxy_list)
    key = bound_key(session_id, binding, services.secrets.binding_key)
    return Conversation(session_id, key, Role.CLIENT)
