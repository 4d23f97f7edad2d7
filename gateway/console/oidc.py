"""Staff sign-in through the identity provider: authorization code with PKCE.

Authlib makes the PKCE verifier and challenge and the random ``state`` and ``nonce``;
PyJWT (already the gateway's JWT library) checks the ID token's signature against the
provider's published keys, its issuer, audience (our client id), expiry and nonce. The
pending sign-in (verifier and nonce) waits in the state store for ten minutes under its
``state``, which is also kept in a short-lived cookie so only the browser that started
a sign-in can finish it. The provider's answer then gets the same session as a staff key;
who the person is and which roles they hold is :func:`_member`'s.

The session cookie is ``SameSite=Strict``, and a browser does not send such a cookie on
a navigation that started at the provider; so the callback answers with a small page
that moves on to the console (a meta refresh, no script), a same-site navigation.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import jwt
from aiohttp import web
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from gateway.appkeys import CONFIG, IN_FORCE, STATE_STORE
from gateway.config.oidc import ConsoleOidcConfig
from gateway.console import claims as claims_of
from gateway.console import signin, throttle
from gateway.console.sessions import provider_record
from gateway.console.web import SESSIONS, page
from gateway.identity import StaffMember
from schemas.errors import (
    Forbidden,
    IdentityProviderUnavailable,
    RateLimited,
    Unauthenticated,
    retry_after_headers,
)

STATE_COOKIE = "lastmile_console_oidc"
PENDING_TTL_S = 600.0
CALLBACK = "/console/sign-in/oidc/callback"
TIMEOUT = aiohttp.ClientTimeout(total=10)


def _config(request: web.Request) -> ConsoleOidcConfig:
    config = request.config_dict[IN_FORCE].current.config.console.oidc
    if config is None:
        raise Forbidden("Sign-in through an identity provider is not configured here.")
    return config


def _redirect_uri(request: web.Request) -> str:
    base = request.config_dict[CONFIG].server.public_url or f"{request.scheme}://{request.host}"
    return base.rstrip("/") + CALLBACK


async def _provider(config: ConsoleOidcConfig, path: str = "") -> dict[str, Any]:
    url = path or config.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as answer:
            if answer.status != 200:
                raise IdentityProviderUnavailable(
                    f"The identity provider answered {answer.status}."
                )
            document: dict[str, Any] = await answer.json(content_type=None)
            return document
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise IdentityProviderUnavailable("The identity provider cannot be reached.") from None


async def start(request: web.Request) -> web.Response:
    config = _config(request)
    wait = await throttle.admit_address(request)
    if wait:
        await signin.audit(request, "unknown", "refused: too many attempts")
        raise RateLimited(
            "Too many sign-in attempts from this address; wait a minute and try again.",
            headers=retry_after_headers(wait),
        )
    discovery = await _provider(config)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    pending = json.dumps({"verifier": verifier, "nonce": nonce}).encode()
    await request.config_dict[STATE_STORE].put(f"console:oidc:{state}", pending, PENDING_TTL_S)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": " ".join(config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    response = web.Response(
        status=303, headers={"Location": f"{discovery['authorization_endpoint']}?{query}"}
    )
    response.set_cookie(
        STATE_COOKIE, state, max_age=int(PENDING_TTL_S), path=CALLBACK, httponly=True,
        samesite="Lax", secure=_redirect_uri(request).startswith("https://"),
    )  # fmt: skip
    return response


async def _id_token_claims(
    request: web.Request, config: ConsoleOidcConfig, code: str, verifier: str
) -> dict[str, Any]:
    discovery = await _provider(config)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request),
        "code_verifier": verifier,
    }
    # client_secret_basic: each part form-encoded, then Basic (RFC 6749 section 2.3.1)
    secret = config.client_secret.get_secret_value()
    pair = f"{quote(config.client_id, safe='')}:{quote(secret, safe='')}"
    auth = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(discovery["token_endpoint"], data=form, headers=auth) as answer,
        ):
            tokens = await answer.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise IdentityProviderUnavailable("The identity provider cannot be reached.") from None
    if answer.status != 200 or "id_token" not in tokens:
        raise Unauthenticated("The identity provider did not confirm this sign-in.")
    keys = jwt.PyJWKSet.from_dict(await _provider(config, discovery["jwks_uri"]))
    try:
        kid = jwt.get_unverified_header(tokens["id_token"]).get("kid")
        key = next(k for k in keys.keys if kid is None or k.key_id == kid)
        claims: dict[str, Any] = jwt.decode(
            tokens["id_token"],
            key.key,
            algorithms=config.algorithms,
            audience=config.client_id,
            issuer=config.issuer,
        )
    except (jwt.PyJWTError, StopIteration):
        raise Unauthenticated("The identity provider's ID token does not verify.") from None
    return claims


def _refuse_no_role(config: ConsoleOidcConfig, who: str) -> Forbidden:
    if config.roles_claim is None:
        return Forbidden(f"{who!r} holds no staff role, so the console has nothing to show.")
    return Forbidden(
        f"{who!r} holds no console role: no staff: entry gives one, and no value of its "
        f"{config.roles_claim!r} claim is in console.oidc.role_map. Ask an administrator "
        "to map one of your groups to a role."
    )


def _member(
    request: web.Request, config: ConsoleOidcConfig, claims: dict[str, Any], name: str
) -> tuple[StaffMember, dict[str, Any]]:
    """The person the provider vouches for, and what their session keeps of the token.

    A ``staff:`` entry whose ``oidc_subject`` is ``name`` makes them that person (their
    id, roles and ``may_see``), and a revoked entry refuses them whatever their groups.
    The roles ``role_map`` gives their ``roles_claim`` values are added to the entry's;
    without an entry those roles alone count, under the id ``oidc:<issuer host>:<name>``.
    """
    current = request.config_dict[IN_FORCE].current
    found = next((c for c in current.config.staff if c.oidc_subject == name), None)
    entry = next((m for m in current.staff.holders() if found and m.id == found.id), None)
    if entry is not None and entry.revoked:
        raise Forbidden(f"{entry.id!r} is revoked at this gateway (staff[].revoked).")
    if entry is None and config.roles_claim is None:
        raise Forbidden(
            "This identity is not a staff member of this gateway (staff[].oidc_subject)."
        )
    values = claims_of.claim_values(claims, config.roles_claim)
    names = claims_of.aliases(config, claims)
    display = claims.get("name") if isinstance(claims.get("name"), str) else name
    via = provider_record(str(display)[:200], values, names)
    mapped = claims_of.mapped_roles(config, values)
    if entry is None:
        member = StaffMember(
            claims_of.person_id(config, name), via["name"], mapped, also_known_as=frozenset(names)
        )
    else:
        member = replace(
            entry, roles=entry.roles | mapped, also_known_as=entry.also_known_as | set(names)
        )
    if not member.roles:
        raise _refuse_no_role(config, member.id)
    return member, via


async def callback(request: web.Request) -> web.Response:
    config = _config(request)
    state = request.query.get("state", "")
    if not state or request.cookies.get(STATE_COOKIE) != state:
        raise Unauthenticated("This sign-in was not started in this browser; start again.")
    store = request.config_dict[STATE_STORE]
    raw = await store.get(f"console:oidc:{state}")
    await store.delete(f"console:oidc:{state}")
    if raw is None or "code" not in request.query:
        raise Unauthenticated("This sign-in has expired or was refused; start again.")
    pending = json.loads(raw)
    claims = await _id_token_claims(request, config, request.query["code"], pending["verifier"])
    if claims.get("nonce") != pending["nonce"]:
        raise Unauthenticated("The ID token belongs to another sign-in; start again.")
    name = claims_of.subject(config, claims)
    if name is None:
        raise Unauthenticated(
            f"The ID token has no usable {config.staff_claim!r} claim to say who you are."
        )
    credential = throttle.credential_key("oidc", f"{config.issuer}\0{name}")
    wait = await throttle.credential_wait(request, credential)
    if wait:
        await signin.audit(request, "unknown", "refused: too many failures with this identity")
        raise RateLimited(
            "Too many refused sign-ins for this identity; wait a minute and try again.",
            headers=retry_after_headers(wait),
        )
    try:
        member, via = _member(request, config, claims, name)
    except Forbidden as exc:
        await throttle.failed(request, credential)
        await signin.audit(request, "unknown", f"refused (identity provider): {exc.code}")
        raise
    token, _ = await request.config_dict[SESSIONS].start(member, time.time(), via)
    roles = ", ".join(sorted(member.roles))
    await signin.audit(request, member.id, f"signed in (identity provider; roles: {roles})")
    response = page(request, "continue.html", {"next": signin.landing(member), "who": member.id})
    signin.set_session_cookie(request, response, token)
    response.del_cookie(STATE_COOKIE, path=CALLBACK)
    return response
