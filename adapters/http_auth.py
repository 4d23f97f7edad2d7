"""OAuth 2.0 client credentials (RFC 6749 §4.4) for the HTTP boundary: one token, cached.

A backend configured with client credentials gets its access token from the token
endpoint on first use and keeps it until shortly before ``expires_in`` runs out; calls
in flight meanwhile wait for the one fetch rather than each asking for a token. A 401
from the API marks the token stale (:meth:`TokenSource.header` with ``stale=True``),
so a token revoked early costs one more fetch, not an outage.

Neither the client secret nor a token ever appears in an error message: a refused
fetch says which endpoint and status, nothing more.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from schemas.errors import BackendError, BackendUnavailable

__all__ = ["ClientCredentials", "TokenSource"]

REFRESH_MARGIN_S = 30.0
"""A token is renewed this long before it expires (or at half its life, if shorter)."""
DEFAULT_LIFETIME_S = 300.0
"""Lifetime assumed when the token endpoint gives no ``expires_in``."""
MAX_TOKEN_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientCredentials:
    """Where and how to get an access token; ``client_auth`` ``basic`` sends the client
    id and secret as HTTP Basic (RFC 6749's preference), ``body`` as form fields."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    audience: str | None = None
    client_auth: str = "basic"
    clock: Callable[[], float] = time.monotonic


class TokenSource:
    """The current access token of one backend, fetched once and shared."""

    __slots__ = ("_credentials", "_expires_at", "_lock", "_token", "fetches")

    def __init__(self, credentials: ClientCredentials) -> None:
        self._credentials = credentials
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched (for readiness details and tests)

    async def header(
        self, session: aiohttp.ClientSession, limits: aiohttp.ClientTimeout, stale: bool = False
    ) -> str:
        """``Bearer <token>``; ``stale`` says the API refused the token we gave it."""
        seen = self._token
        async with self._lock:
            if stale and self._token == seen:
                self._token = None
            if self._token is None or self._credentials.clock() >= self._expires_at:
                await self._fetch(session, limits)
            return f"Bearer {self._token}"

    async def _fetch(self, session: aiohttp.ClientSession, limits: aiohttp.ClientTimeout) -> None:
        creds = self._credentials
        form = {"grant_type": "client_credentials"}
        if creds.scope:
            form["scope"] = creds.scope
        if creds.audience:
            form["audience"] = creds.audience
        headers = {"Accept": "application/json"}
        if creds.client_auth == "body":
            form |= {"client_id": creds.client_id, "client_secret": creds.client_secret}
        else:
            headers["Authorization"] = aiohttp.encode_basic_auth(
                creds.client_id, creds.client_secret
            )
        try:
            async with session.post(
                creds.token_url, data=form, headers=headers, timeout=limits
            ) as response:
                raw = await response.content.read(MAX_TOKEN_ANSWER_BYTES + 1)
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise BackendUnavailable(
                f"The token endpoint {creds.token_url} cannot be reached ({type(exc).__name__})."
            ) from exc
        if status >= 500 or status == 429:
            raise BackendUnavailable(f"The token endpoint answered HTTP {status}.")
        token, lifetime = _token_of(raw) if status == 200 else (None, 0.0)
        if token is None:
            raise BackendError(
                f"The token endpoint {creds.token_url} gave no access token (HTTP {status}): "
                "check the backend's client credentials."
            )
        self.fetches += 1
        self._token = token
        self._expires_at = creds.clock() + max(1.0, lifetime - min(REFRESH_MARGIN_S, lifetime / 2))


def _token_of(raw: bytes) -> tuple[str | None, float]:
    if len(raw) > MAX_TOKEN_ANSWER_BYTES:
        return None, 0.0
    try:
        answer = json.loads(raw)
    except ValueError:
        return None, 0.0
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        return None, 0.0
    lifetime = answer.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else None
    return answer["access_token"], seconds or DEFAULT_LIFETIME_S
