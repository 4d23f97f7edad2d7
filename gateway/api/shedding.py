"""Load shedding at the door: beyond a bound on calls in flight, answer 503 at once.

Under a flood (10,000 open connections, a retry storm) a gateway that accepts every
call queues them all, holds their memory, and answers each too late to matter. A
fixed bound on concurrent operation calls keeps memory and latency bounded; excess
calls get a fast, explicit ``overloaded`` answer with ``Retry-After``. The bound counts
every face's calls together: REST here, MCP ``tools/call`` in its handler, approvals
before a decision is taken. Health, readiness and metrics are never shed, so operators
can still see what is happening.

A shed call is refused before anything about it is known (not even who sent it), so it
leaves no audit event: it is counted in ``lastmile_shed_calls`` instead. Writing an
event per refused call is exactly the work a flood must not be able to buy.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api.middleware import REQUEST_ID, Handler
from gateway.api.problems import problem_response
from schemas.errors import Overloaded


class InFlight:
    """How many operation calls are being served now, against the configured bound."""

    __slots__ = ("count", "limit", "shed")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.count = 0
        self.shed = 0

    def enter(self) -> Overloaded | None:
        """Count one more call in, or the refusal to answer when the bound is reached
        (then the call is not counted: do not :meth:`leave`)."""
        if self.limit is not None and self.count >= self.limit:
            self.shed += 1
            return Overloaded(
                f"The gateway is serving its limit of {self.limit} calls; retry in a second.",
                headers={"Retry-After": "1"},
            )
        self.count += 1
        return None

    def leave(self) -> None:
        self.count -= 1


IN_FLIGHT = web.AppKey("in_flight", InFlight)


@web.middleware
async def shed_load(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/v1/operations/") or request.method != "POST":
        return await handler(request)
    in_flight = request.app[IN_FLIGHT]
    overloaded = in_flight.enter()
    if overloaded is not None:
        return problem_response(overloaded, request[REQUEST_ID], request.path)
    try:
        return await handler(request)
    finally:
        in_flight.leave()
