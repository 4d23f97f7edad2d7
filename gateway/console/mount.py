"""Mounts the console under ``/console`` as a sub-application with its own middleware
(security headers, sessions, CSRF, HTML errors); it reads everything else from the
gateway's application keys, so it sees the same stores as the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from gateway.appkeys import CONFIG, GUARDRAILS, IN_FORCE, STATE_STORE
from gateway.console import (
    agents,
    approvals,
    audit,
    downloads,
    drill,
    halts,
    now,
    oidc,
    render,
    signin,
)
from gateway.console.sessions import Sessions
from gateway.console.signin import landing
from gateway.console.web import MEMBER, SESSIONS, console_middleware, see_other
from gateway.console.webhook import HeldCallWebhook

STATIC = Path(__file__).parent / "static"


async def _home(request: web.Request) -> web.Response:
    return see_other(landing(request[MEMBER]))


def add_console(app: web.Application) -> None:
    """Mount the console on a built gateway application (call after the pipeline)."""
    console = web.Application(middlewares=[console_middleware])
    render.setup(console)
    console[SESSIONS] = Sessions(app[STATE_STORE], app[IN_FORCE])
    console[now.FEED] = now.trail_feed(app)
    console[now.STOPPING] = asyncio.Event()
    console.on_shutdown.append(now.stop_streams)
    console.on_cleanup.append(now.stop_feed)
    config = app[CONFIG]
    hook = config.guardrails.approvals.webhook
    if hook is not None:
        webhook = HeldCallWebhook(hook, config.server.public_url or "")
        app[GUARDRAILS].desk.on_hold = webhook.notify
        app.cleanup_ctx.append(webhook.lifecycle)
    get, post = console.router.add_get, console.router.add_post
    get("/", _home)
    get("/sign-in", signin.sign_in_form)
    post("/sign-in", signin.sign_in)
    post("/sign-out", signin.sign_out)
    get("/sign-in/oidc", oidc.start)
    get("/sign-in/oidc/callback", oidc.callback)
    get("/now", now.now)
    get("/now/stream", now.stream)
    get("/approvals", approvals.inbox)
    get("/approvals/{id}", approvals.detail)
    post("/approvals/{id}/decide", approvals.decide)
    get("/halts", halts.board)
    post("/halts", halts.halt)
    post("/halts/resume", halts.resume)
    post("/halts/drill", drill.run)
    get("/audit", audit.search)
    get("/audit/export.jsonl", downloads.export)
    get("/audit/requests/{request_id}", audit.story)
    get("/audit/requests/{request_id}/proof", downloads.proof)
    get("/audit/checkpoint", audit.checkpoint)
    post("/audit/verify", audit.verify)
    get("/agents", agents.agents)
    console.router.add_static("/static/", STATIC, append_version=False)
    app.add_subapp("/console", console)
