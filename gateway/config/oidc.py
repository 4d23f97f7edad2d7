"""The ``oidc:`` section: the identity provider whose access tokens agents may present.

Enterprises issue workload identities from their provider (Entra ID, Okta, Keycloak);
an agent that holds one sends the provider's JWT access token as its bearer credential
instead of a static key. Which agent a token is comes from one claim (``sub`` by default;
``azp`` or ``client_id`` with providers that put the client there), matched against
``agents[].token_subject``.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from gateway.config.identity import StaffRole
from gateway.config.primitives import EnvStr, Secret, Section, absolute_url, http_url


def https_unless_loopback(url: str) -> str:
    """Keys fetched over plain HTTP could be swapped on the way: only a provider on this
    machine (tests, a sidecar) may be reached without TLS."""
    parts = urlsplit(url)
    if parts.scheme != "https" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"the identity provider must be reached over https, got {url!r}")
    return url


ProviderUrl = Annotated[EnvStr, AfterValidator(absolute_url), AfterValidator(https_unless_loopback)]
Issuer = Annotated[EnvStr, AfterValidator(http_url), AfterValidator(https_unless_loopback)]
"""Kept exactly as written (a trailing ``/`` included): tokens must name it in ``iss``."""

SigningAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]
"""Asymmetric JWS algorithms only: a shared-secret (HS*) or ``none`` token is refused."""


class OidcConfig(Section):
    issuer: Issuer = Field(
        description="The provider's issuer URL, exactly as tokens name it in 'iss'; its "
        "discovery document is at {issuer}/.well-known/openid-configuration"
    )
    audience: list[EnvStr] = Field(
        min_length=1,
        description="Accepted 'aud' values: what the provider puts in tokens issued for "
        "this gateway (e.g. api://lastmile, or the gateway's URL)",
    )
    agent_claim: str = Field(
        default="sub",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$",
        description="The claim whose value names the agent (agents[].token_subject)",
    )
    scopes: list[str] = Field(
        default=[],
        description="Scopes a token must hold (in 'scope' or 'scp'); published as "
        "scopes_supported in /.well-known/oauth-protected-resource",
    )
    algorithms: list[SigningAlgorithm] = Field(
        default=["RS256", "PS256", "ES256", "EdDSA"], min_length=1
    )
    leeway_s: float = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp and nbf"
    )
    jwks_uri: ProviderUrl | None = Field(
        default=None, description="Where the signing keys are; unset: from discovery"
    )
    jwks_max_age_s: float = Field(
        default=3600, gt=0, le=7 * 24 * 3600, description="Keys are refetched this often"
    )
    jwks_min_refresh_s: float = Field(
        default=60,
        ge=0,
        le=3600,
        description="Least time between fetches, also when a token names an unknown key "
        "(rotation): a flood of made-up key ids cannot flood the provider",
    )
    timeout_s: float = Field(default=5, gt=0, le=60, description="Per request to the provider")
    authorization_servers: list[Annotated[EnvStr, AfterValidator(absolute_url)]] = Field(
        default=[],
        description="Published in the protected-resource metadata; unset: [issuer]",
    )
    resource_name: str | None = Field(default=None, max_length=200)


ClaimName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$")]
"""A claim's name: plain (``groups``), dotted into nested objects (``realm_access.roles``)
or a namespaced URL (``https://acme.example/roles``)."""


class ConsoleOidcConfig(Section):
    """Staff sign-in to the console through the identity provider (authorization code
    with PKCE). The ID token's ``staff_claim`` names the person; their roles are those of
    the ``staff:`` entry whose ``oidc_subject`` it matches, together with those
    ``role_map`` gives the values of ``roles_claim`` (such as their groups)."""

    issuer: Issuer
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: Secret
    staff_claim: str = Field(default="sub", pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
    scopes: list[str] = Field(default=["openid"])
    algorithms: list[SigningAlgorithm] = Field(default=["RS256", "PS256", "ES256", "EdDSA"])
    roles_claim: ClaimName | None = Field(
        default=None,
        description="An ID token claim holding a string or a list of strings (groups, "
        "app roles), looked up by name, else as a dotted path; each value named in "
        "role_map gives its roles, so the provider's groups grant console roles without "
        "a staff: entry",
    )
    role_map: dict[Annotated[str, Field(min_length=1, max_length=255)], list[StaffRole]] = Field(
        default={},
        max_length=1000,
        description="{claim value: [roles]}; values not named here give no role",
    )

    @model_validator(mode="after")
    def _map_and_claim_together(self) -> ConsoleOidcConfig:
        if self.role_map and self.roles_claim is None:
            raise ValueError("role_map needs roles_claim: the claim whose values it maps")
        if self.roles_claim is not None and not self.role_map:
            raise ValueError("roles_claim needs role_map: which of its values give which roles")
        return self

    @property
    def issuer_host(self) -> str:
        """The issuer's host (and port), naming people who have no staff: entry."""
        return urlsplit(self.issuer).netloc


class ConsoleConfig(Section):
    oidc: ConsoleOidcConfig | None = None
