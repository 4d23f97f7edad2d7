"""Sign-in with a staff key, exchanged for a session cookie; and sign-out.

The key is sent once, in a form post, and never again: the browser keeps only the
session cookie (HttpOnly, SameSite=Strict, Secure when ``server.public_url`` is https).
Attempts are throttled per client address and failures per presented key, in the
shared state store (:mod:`gateway.console.throttle`); each attempt, admitted or not, is
an audit event. Agent keys are recognised and refused with a clear message.

The form carries its own CSRF token (there is no session yet to hold one): showing the
form sets a random token in a short-lived HttpOnly, SameSite=Strict cookie scoped to the
sign-in path and in a hidden field; a post whose field does not match the cookie is
refused before any key is looked at. This stops another site from signing a browser in
under the attacker's key (login CSRF), and needs no shared state, so any process of a
fleet accepts the form another one served.
"""

from __future__ import annotations

import hmac
import secrets
import time

from aiohttp import web

from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, CONFIG, IN_FORCE
from gateway.audit.admin import record_admin_action
from gateway.console import throttle
from gateway.console.sessions import COOKIE, SESSION_TTL_S
from gateway.console.web import MEMBER, SESSIONS, TOKEN, form, page, see_other
from gateway.identity import StaffMember
from gateway.staff_roles import Capability, capabilities
from schemas.errors import Forbidden, RateLimited, Unauthenticated, retry_after_headers

LANDING = (
    (Capability.SEE_ACTIVITY, "/console/now"),
    (Capability.SEE_APPROVALS, "/console/approvals"),
)


def landing(member: StaffMember) -> str:
    allowed = capabilities(member)
    return next((url for cap, url in LANDING if cap in allowed), "/console/approvals")


async def audit(request: web.Request, actor: str, detail: str) -> None:
    await record_admin_action(
        request.config_dict[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=actor,
        action="console_sign_in",
        target=f"console from {throttle.address(request)}",
        detail=detail,
    )


FORM_COOKIE = "lastmile_console_sign_in"
FORM_TTL_S = 3600  # a form left open longer than this is shown again


async def sign_in_form(request: web.Request) -> web.Response:
    return sign_in_page(request, None)


def sign_in_page(request: web.Request, message: str | None, status: int = 200) -> web.Response:
    """The form with a fresh CSRF token, in its hidden field and in the form cookie."""
    token = secrets.token_urlsafe(32)
    context = {"message": message, "oidc": _has_oidc(request), "form_token": token}
    response = page(request, "sign_in.html", context, status=status)
    response.set_cookie(
        FORM_COOKIE,
        token,
        max_age=FORM_TTL_S,
        path="/console/sign-in",
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
    )
    return response


def _form_token_matches(request: web.Request, presented: str | None) -> bool:
    expected = request.cookies.get(FORM_COOKIE)
    return (
        expected is not None
        and presented is not None
        and hmac.compare_digest(expected.encode(), presented.encode("utf-8", "surrogatepass"))
    )


def _has_oidc(request: web.Request) -> bool:
    return request.config_dict[CONFIG].console.oidc is not None


def _member(request: web.Request, key: str) -> StaffMember:
    authorization = f"Bearer {key.strip()}"
    try:
        member = request.config_dict[IN_FORCE].current.staff.authenticate(authorization)
    except Unauthenticated:
        try:
            agent = request.config_dict[IN_FORCE].current.agents.authenticate(authorization)
        except Unauthenticated:
            raise Unauthenticated("That is not a valid staff key.") from None
        raise Forbidden(
            f"That is the key of agent {agent.id!r}; agent keys never open the console. "
            "Sign in with your own staff key."
        ) from None
    if not member.roles:
        raise Forbidden(f"{member.id!r} holds no staff role, so the console has nothing to show.")
    return member


async def sign_in(request: web.Request) -> web.Response:
    sessions = request.config_dict[SESSIONS]
    wait = await throttle.admit_address(request)
    if wait:
        await audit(request, "unknown", "refused: too many attempts")
        raise RateLimited(
            "Too many sign-in attempts from this address; wait a minute and try again.",
            headers=retry_after_headers(wait),
        )
    data = await form(request)
    if not _form_token_matches(request, data.get("csrf_token")):
        await audit(request, "unknown", "refused: no sign-in form token")
        message = (
            "This sign-in did not come from the console's own sign-in form (or the form "
            "was open too long), so no key was checked. Please sign in again."
        )
        return sign_in_page(request, message, status=403)
    credential = throttle.credential_key("key", data.get("key", "").strip())
    wait = await throttle.credential_wait(request, credential)
    if wait:
        await audit(request, "unknown", "refused: too many failures with this key")
        raise RateLimited(
            "Too many failed sign-ins with this key; wait a minute and try again.",
            headers=retry_after_headers(wait),
        )
    try:
        member = _member(request, data.get("key", ""))
    except (Unauthenticated, Forbidden) as exc:
        await throttle.failed(request, credential)
        await audit(request, "unknown", f"refused: {exc.code}")
        return sign_in_page(request, exc.detail, status=exc.status)
    token, _ = await sessions.start(member, time.time())
    await audit(request, member.id, "signed in")
    response = see_other(landing(member))
    set_session_cookie(request, response, token)
    response.del_cookie(FORM_COOKIE, path="/console/sign-in")
    return response


def _secure(request: web.Request) -> bool:
    return (request.config_dict[CONFIG].server.public_url or "").startswith("https://")


def set_session_cookie(request: web.Request, response: web.Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TTL_S),
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
    )


async def sign_out(request: web.Request) -> web.Response:
    await request.config_dict[SESSIONS].end(request[TOKEN])
    await record_admin_action(
        request.config_dict[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=request[MEMBER].id,
        action="console_sign_out",
        target="console",
    )
    response = see_other("/console/sign-in")
    response.del_cookie(COOKIE, path="/console")
    return response
