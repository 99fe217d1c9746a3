"""Who bookings are made for: a customer named by a signed token, else the conversation itself.

A `user_id` in a request body is only a claim; a dealer's login system proves it by signing a JWT
(HS256 with `CUSTOMER_TOKEN_SECRET`) whose `sub` is the customer. Without one, bookings belong
to the conversation, so nobody can list or cancel another customer's bookings by naming them.
"""

from __future__ import annotations

from typing import Final

import jwt

from api.auth import Conversation, Role
from api.errors import ApiError
from api.turns.executor import user_id_for

CUSTOMER_TOKEN_ALGORITHMS: Final = ["HS256"]
REQUIRED_CLAIMS: Final = ["sub", "exp"]


def verified_customer(token: str, secret: str | None) -> str:
    """Returns the customer a signed token names.

    Raises:
        ApiError: 403 when customer tokens are not enabled or the token does not verify.
    """
    if not secret:
        raise ApiError(
            403, "forbidden", "Customer tokens are not accepted here (no CUSTOMER_TOKEN_SECRET)."
        )
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=CUSTOMER_TOKEN_ALGORITHMS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as error:
        raise ApiError(403, "forbidden", f"customer_token: {error}") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise ApiError(403, "forbidden", "customer_token: the sub claim names no customer.")
    return subject


def booking_owner(
    conversation: Conversation,
    *,
    user_id: str | None,
    customer_token: str | None,
    token_secret: str | None,
) -> str:
    """Returns who the booking tools act for on this turn.

    The customer of a verified token; a body `user_id` only from the operator (or when it is the
    token's own customer); otherwise the conversation (its key, so a client-bound conversation's
    bookings are that client's alone).

    Raises:
        ApiError: 403 for a `user_id` nobody vouched for, or a token that does not verify.
    """
    customer = verified_customer(customer_token, token_secret) if customer_token else None
    if user_id is not None and user_id != customer and conversation.role is not Role.OPERATOR:
        raise ApiError(
            403,
            "forbidden",
            "user_id is accepted only with a customer_token signed for that customer.",
        )
    return user_id_for(conversation.key, user_id or customer)
