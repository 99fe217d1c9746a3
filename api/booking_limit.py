"""The per-client booking limit (`BOOKING_RATE_LIMIT`) the booking tool asks before it confirms.

The tools know only their `BookingQuota` protocol; this is it over the abuse limits' counters
(in memory, or Redis shared by every replica), with each refusal counted in the metrics beside
the refused requests.
"""

from __future__ import annotations

import logging
from typing import Final

from api.rate_limits import Limits
from api.telemetry.metrics import LexMetrics
from tools.names import SCHEDULE_APPOINTMENT

logger = logging.getLogger(__name__)

REFUSED_STATUS: Final = "429"
"""Status label of a refused booking in `lex_rate_limited_requests_total`, as of a request's."""


class ClientBookingQuota:
    """`tools.services.BookingQuota` over the abuse limits.

    Args:
        limits: Where the client's bookings are counted.
        metrics: Where refusals are counted (`route` is the booking tool's name).
    """

    def __init__(self, limits: Limits, metrics: LexMetrics) -> None:
        self._limits = limits
        self._metrics = metrics

    async def take(self, client: str) -> float | None:
        """Takes one of `client`'s bookings; None when taken, else seconds until one is free."""
        wait_s = await self._limits.client_booking(client)
        if wait_s is not None:
            self._metrics.rate_limited_requests.labels(
                route=SCHEDULE_APPOINTMENT, status=REFUSED_STATUS
            ).inc()
            logger.info("booking refused: the client's BOOKING_RATE_LIMIT is spent")
        return wait_s

    async def give_back(self, client: str) -> None:
        """Gives back a booking taken for a booking that was not confirmed after all."""
        await self._limits.return_client_booking(client)
