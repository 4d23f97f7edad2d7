"""Access tokens from the configured OpenID Connect provider: whose signature, for whom.

An agent may present, instead of a static key, a JWT access token its identity provider
issued (RFC 9068; Entra ID, Okta, Keycloak all issue them). The token is accepted when a
key the provider publishes signed it, with an algorithm we accept (asymmetric only), and
its ``iss``, ``aud``, ``exp`` and ``nbf`` hold (``leeway_s`` of clock skew). Each failure
has its own stable code (``token_expired``, ``token_audience_mismatch``,
``token_signature_invalid``, ``token_invalid``) and never repeats the token.

Signing keys come from the provider's JWKS, found through its discovery document. They
are fetched on first use (the gateway starts while the provider is down), cached for
``jwks_max_age_s``, and refetched at once when a token names a key id we do not know:
that is how a rotation reaches us. Fetches are at least ``jwks_min_refresh_s`` apart, so
tokens with made-up key ids cannot turn the gateway into a flood against the provider;
when a fetch fails, the keys we have stay in use.

PyJWT (with ``cryptography``, already a dependency) does the JOSE work: it is small,
typed, maintained, and verifies exactly what it is told to. We fetch the documents
ourselves with aiohttp because its own JWKS client blocks the event loop. ``exp`` and
``nbf`` are checked here against an injected clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import jwt
import structlog

from gateway.config.oidc import OidcConfig
from schemas.errors import (
    IdentityProviderUnavailable,
    InsufficientScope,
    TokenAudienceMismatch,
    TokenExpired,
    TokenInvalid,
    TokenSignatureInvalid,
)

log = structlog.get_logger("lastmile.oidc")

_MAX_DOCUMENT_BYTES = 1024 * 1024
VERIFIED_CACHE_SIZE = 4096
"""Tokens whose signature, issuer and audience were verified, by digest: an agent sends
the same token for its whole lifetime (minutes), and an MCP call is signed in twice (the
transport, then the pipeline); a hit costs a hash instead of an RSA verification."""
DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderKeys:
    """The provider's signing keys, by key id, fetched lazily and refetched on rotation."""

    def __init__(self, config: OidcConfig, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._jwks_uri = config.jwks_uri
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self.generation = 0  # changes whenever the set of keys does
        self._tried_at: float | None = None  # last attempt, successful or not
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def refresh_if_stale(self) -> None:
        if self._stale():
            await self._refresh(force=False)

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The key ``kid`` names; a token without ``kid`` may use the provider's only key."""
        await self.refresh_if_stale()
        found = self._lookup(kid)
        if found is None:
            await self._refresh(force=True)  # an unknown key: perhaps a rotation
            found = self._lookup(kid)
        if found is None:
            if not self._keys:
                raise IdentityProviderUnavailable(
                    "The identity provider's signing keys cannot be fetched just now, so "
                    "the access token cannot be checked; retry shortly, or use an API key."
                )
            raise TokenSignatureInvalid(
                "The access token was not signed by a key the identity provider publishes."
            )
        return found

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return (
            self._fetched_at is None
            or self._clock() - self._fetched_at >= self._config.jwks_max_age_s
        )

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:  # one fetch at a time; waiters find the result
            now = self._clock()
            if (
                self._tried_at is not None
                and now - self._tried_at < self._config.jwks_min_refresh_s
            ):
                return
            if not force and not self._stale():
                return
            self._tried_at = now
            try:
                keys = await self._fetch()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("oidc_keys_unavailable", reason=type(exc).__name__, detail=str(exc))
                return
            if keys.keys() != self._keys.keys():
                self.generation += 1
            self._keys = keys
            self._fetched_at = now
            log.info("oidc_keys_fetched", keys=sorted(str(k) for k in keys))

    async def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        if self._jwks_uri is None:
            discovery = await self._get_json(self._config.issuer.rstrip("/") + DISCOVERY_PATH)
            if discovery.get("issuer") != self._config.issuer:
                raise ValueError("the discovery document names another issuer")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise ValueError("the discovery document has no jwks_uri")
            self._jwks_uri = jwks_uri
        document = await self._get_json(self._jwks_uri)
        keys: dict[str | None, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type we cannot use (an encryption key, say)
            keys[entry.get("kid")] = key
        if not keys:
            raise ValueError("the JWKS holds no signing key we can use")
        return keys

    async def _get_json(self, url: str) -> Mapping[str, Any]:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self._config.timeout_s)
            self._http = aiohttp.ClientSession(timeout=timeout)
        async with self._http.get(url, allow_redirects=False) as response:
            if response.status != 200:
                raise ValueError(f"{url} answered {response.status}")
            body = await response.content.read(_MAX_DOCUMENT_BYTES + 1)
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url} answered more than {_MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return document


class AccessTokenVerifier:
    """Checks an access token and returns its claims; raises a stable-coded 401 otherwise."""

    def __init__(
        self,
        config: OidcConfig,
        keys: ProviderKeys | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self.keys = keys or ProviderKeys(config, clock)
        self._verified: OrderedDict[bytes, Mapping[str, Any]] = OrderedDict()
        self._generation = self.keys.generation

    @property
    def agent_claim(self) -> str:
        return self._config.agent_claim

    async def verify(self, token: str) -> Mapping[str, Any]:
        """The token's claims; the time and scope checks run on every call, cached or not."""
        await self.keys.refresh_if_stale()
        if self._generation != self.keys.generation:  # a key may have been withdrawn
            self._verified.clear()
            self._generation = self.keys.generation
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        claims = self._verified.get(digest)
        if claims is None:
            claims = await self._verify_signed(token)
            self._verified[digest] = claims
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(digest)
        self._check_times(claims)
        self._check_scopes(claims)
        return claims

    async def _verify_signed(self, token: str) -> Mapping[str, Any]:
        """Algorithm, signature, issuer and audience: what cannot change for a token."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("The access token is not a well-formed JWT.") from None
        algorithm = header.get("alg")
        if algorithm not in self._config.algorithms:
            raise TokenInvalid(
                f"The access token is signed with {str(algorithm)[:20]!r}; this gateway "
                f"accepts {', '.join(self._config.algorithms)}."
            )
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        return self._decode(token, key, algorithm)

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self._config.audience,
                issuer=self._config.issuer,
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,  # checked against our clock below
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
            raise TokenSignatureInvalid(
                "The access token's signature does not verify with the identity provider's key."
            ) from None
        except jwt.InvalidAudienceError:
            raise TokenAudienceMismatch(
                "The access token was issued for another service; ask the identity provider "
                f"for a token for {self._config.audience[0]!r}."
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenInvalid(
                "The access token was issued by another identity provider than this gateway trusts."
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenInvalid(f"The access token lacks the {exc.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise TokenInvalid("The access token cannot be read.") from None

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, leeway = self._clock(), self._config.leeway_s
        expires, not_before = claims.get("exp"), claims.get("nbf")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise TokenInvalid("The access token's 'exp' claim is not a number.")
        if now > expires + leeway:
            raise TokenExpired(
                "The access token has expired; ask the identity provider for a new one."
            )
        if not_before is not None:
            if not isinstance(not_before, int | float) or isinstance(not_before, bool):
                raise TokenInvalid("The access token's 'nbf' claim is not a number.")
            if now + leeway < not_before:
                raise TokenExpired("The access token is not valid yet; check this machine's clock.")

    def _check_scopes(self, claims: Mapping[str, Any]) -> None:
        if not self._config.scopes:
            return
        granted = claims.get("scope", claims.get("scp", ""))
        if isinstance(granted, str):
            held = set(granted.split())
        else:
            held = (
                {g for g in granted if isinstance(g, str)} if isinstance(granted, list) else set()
            )
        missing = [scope for scope in self._config.scopes if scope not in held]
        if missing:
            raise InsufficientScope(
                f"The access token lacks the scope(s) {', '.join(missing)}; ask the identity "
                "provider for them."
            )
