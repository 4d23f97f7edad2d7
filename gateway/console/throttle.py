"""Sign-in throttling that holds across a fleet and behind a proxy.

Two counters in the shared state store (memory, SQLite or Redis: whatever ``state:`` is,
so every process sharing it counts together):

- **per client address**, every attempt: the address is the TCP peer, or behind
  ``server.trusted_proxies`` the client named by ``X-Forwarded-For``
  (:mod:`gateway.api.client_address`), so clients behind one load balancer are not
  counted as one and a client cannot pick its own address by sending the header;
- **per credential**, failures only: the presented staff key, or the identity provider's
  subject, keyed by a SHA-256 of it (the store never holds a key), so failures with one
  credential are slowed from whatever address they come, and a person who signs in
  correctly is never slowed by someone else's failures with other credentials.

Both use the store's GCRA limiter, whose clock is the injected one (tests move time).
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from gateway.api.client_address import client_address
from gateway.appkeys import CONFIG, STATE_STORE
from gateway.state.store import Rate

ADDRESS_RATE = Rate(limit=5, window_s=60.0)  # attempts per client address per minute
CREDENTIAL_RATE = Rate(limit=5, window_s=60.0)  # failures per credential per minute
_PREFIX = "console:sign-in:"


def address(request: web.Request) -> str:
    """The client's address as sign-in counts and audits it."""
    return client_address(request, request.config_dict[CONFIG].server.trusted_proxies)


def credential_key(kind: str, credential: str) -> str:
    """The store key for a credential: a hash, with ``kind`` (key, oidc) kept apart."""
    digest = hashlib.sha256(f"{kind}\0{credential}".encode("utf-8", "surrogatepass"))
    return f"{_PREFIX}credential:{digest.hexdigest()}"


async def admit_address(request: web.Request) -> float:
    """Count one attempt from this client; 0 if admitted, else seconds to wait."""
    state = request.config_dict[STATE_STORE]
    decision = await state.take(f"{_PREFIX}address:{address(request)}", ADDRESS_RATE)
    return 0.0 if decision.admitted else max(decision.retry_after_s, 1.0)


async def credential_wait(request: web.Request, key: str) -> float:
    """Seconds before this credential may be tried again (0: now); counts nothing."""
    decision = await request.config_dict[STATE_STORE].headroom(key, CREDENTIAL_RATE)
    return 0.0 if decision.admitted else max(decision.retry_after_s, 1.0)


async def failed(request: web.Request, key: str) -> None:
    """Count one failure with this credential."""
    await request.config_dict[STATE_STORE].take(key, CREDENTIAL_RATE)
