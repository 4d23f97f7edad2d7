"""What every console request passes: security headers, the session, the CSRF check,
and errors rendered as a page (the API's problem documents are for programs).

- **Content-Security-Policy**: scripts, styles and connections only from this origin,
  no inline script or style, no framing, forms post only here.
- **Session**: every page except sign-in and the static files needs one; a page asked
  for without it redirects to sign-in, anything else answers 401.
- **CSRF**: every POST carries the session's token (form field ``csrf_token`` or header
  ``X-CSRF-Token``); without it nothing happens (403). The cookie is also
  ``SameSite=Strict``, a second line, not the only one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.console.sessions import COOKIE, Session, Sessions, csrf_matches
from gateway.identity import StaffMember
from gateway.staff_roles import Capability, capabilities, require
from schemas.errors import Forbidden, GatewayError, Unauthenticated

SESSIONS = web.AppKey("console_sessions", Sessions)
SESSION = web.RequestKey("console_session", Session)
MEMBER = web.RequestKey("console_member", StaffMember)
TOKEN = web.RequestKey("console_token", str)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
TITLES = {
    401: "Sign in needed",
    403: "Not allowed",
    404: "Not found",
    409: "Already decided",
    422: "Please check the form",
    429: "Too many attempts",
}
PUBLIC = ("/console/sign-in", "/console/static/")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def see_other(location: str) -> web.Response:
    """A 303 redirect, returned (raising one would reach the API's error renderer)."""
    return web.Response(status=303, headers={"Location": location})


def page(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    """A page with the signed-in person, their capabilities and the CSRF token."""
    session, member = request.get(SESSION), request.get(MEMBER)
    base = {
        "member": member,
        "can": capabilities(member) if member is not None else frozenset(),
        "Capability": Capability,
        "csrf": session.csrf if session is not None else "",
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context})
    response.set_status(status)
    return response


def member_may(request: web.Request, capability: Capability) -> StaffMember:
    member = request[MEMBER]
    require(member, capability)
    return member


async def form(request: web.Request) -> Mapping[str, str]:
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await _guarded(request, handler)
    except GatewayError as exc:
        title = TITLES.get(exc.status, exc.title)
        response = page(request, "error.html", {"error": exc, "title": title}, status=exc.status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/console/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC):
        return await handler(request)
    token = request.cookies.get(COOKIE)
    found = await request.config_dict[SESSIONS].find(token)
    if found is None or token is None:
        if request.method == "GET" and "text/event-stream" not in request.headers.get("Accept", ""):
            return see_other("/console/sign-in")
        raise Unauthenticated("Sign in to the console first; your session has ended.")
    request[SESSION], request[MEMBER] = found
    request[TOKEN] = token
    if request.method not in ("GET", "HEAD"):
        presented = request.headers.get("X-CSRF-Token")
        if presented is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            presented = (await form(request)).get("csrf_token")
        if not csrf_matches(found[0], presented):
            raise Forbidden(
                "This change came without the console's CSRF token, so nothing was done; "
                "reload the page and try again."
            )
    return await handler(request)
