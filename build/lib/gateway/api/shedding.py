"""Load shedding at the door: beyond a bound on calls in flight, answer 503 at once.

Under a flood (10,000 open connections, a retry storm) a gateway that accepts every
call queues them all, holds their memory, and answers each too late to matter. A
fixed bound on concurrent operation calls keeps memory and latency bounded; excess
calls get a fast, explicit ``overloaded`` problem with ``Retry-After``. Health,
readiness and metrics are never shed, so operators can still see what is happening.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.middleware import REQUEST_ID, Handler
from gateway.api.problems import problem_response
from schemas.errors import Overloaded


class InFlight:
    """How many operation calls are being served now, against the configured bound."""

    __slots__ = ("count", "limit", "shed")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.shed = 0


IN_FLIGHT = web.AppKey("in_flight", InFlight)


@web.middleware
async def shed_load(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/v1/operations/") or request.method != "POST":
        return await handler(request)
    in_flight = request.app[IN_FLIGHT]
    if in_flight.count >= in_flight.limit:
        in_flight.shed += 1
        error = Overloaded(
            f"The gateway is serving its limit of {in_flight.limit} calls; retry in a second."
        )
        response = problem_response(error, request[REQUEST_ID], request.path)
        response.headers["Retry-After"] = "1"
        return response
    in_flight.count += 1
    try:
        return await handler(request)
    finally:
        in_flight.count -= 1
