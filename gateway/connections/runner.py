"""The server ``lastmile serve`` runs (and the demo, and the tests that need real
connection behaviour): an aiohttp AppRunner whose connections are
:class:`~gateway.connections.handler.GuardedRequestHandler`."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from gateway.connections.budget import ConnectionBudget
from gateway.connections.gate import ConnectionGate
from gateway.connections.handler import GuardedRequestHandler


class GuardedServer(web.Server):
    """aiohttp's protocol factory, making guarded connections that share one gate."""

    def __init__(
        self, handler: Any, *, gate: ConnectionGate, budget: ConnectionBudget, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        self.gate = gate
        self.budget = budget

    def __call__(self) -> web.RequestHandler:
        return GuardedRequestHandler(
            self, loop=self._loop, gate=self.gate, budget=self.budget, **self._kwargs
        )


class GatewayRunner(web.AppRunner):
    """Runs the application like ``web.AppRunner`` (start-up, clean-up, sites), with
    aiohttp's idle close set to ``idle_s`` and guarded connections."""

    def __init__(self, app: web.Application, budget: ConnectionBudget) -> None:
        super().__init__(
            app, handle_signals=False, access_log=None, keepalive_timeout=budget.idle_s
        )
        self.budget = budget
        self.gate = ConnectionGate(budget.max_open)

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()  # runs the application's start-up
        return GuardedServer(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=asyncio.get_running_loop(),
            gate=self.gate,
            budget=self.budget,
            **self._kwargs,
        )

    async def cleanup(self) -> None:
        await super().cleanup()  # stops listening, then closes the open connections
        self.gate.close_lingering()


async def start_gateway(
    app: web.Application,
    budget: ConnectionBudget,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
) -> GatewayRunner:
    """Start ``app`` listening on ``host:port``; the caller cleans the runner up."""
    runner = GatewayRunner(app, budget)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_port=reuse_port or None)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
