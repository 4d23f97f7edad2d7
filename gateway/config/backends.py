"""The ``backends:`` section: one entry per system of record, REST or SOAP."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from gateway.config.primitives import EnvStr, Secret, Section, http_url, substitute

OperationTimeout = Annotated[float, Field(gt=0, le=600)]
"""Seconds one operation may take, overriding the backend's total timeout."""


class TimeoutsConfig(Section):
    connect_s: float = Field(default=2.0, gt=0, le=60)
    read_s: float = Field(default=10.0, gt=0, le=600)
    total_s: float = Field(default=15.0, gt=0, le=600)


class BearerAuthConfig(Section):
    type: Literal["bearer"]
    token: Secret


class BasicAuthConfig(Section):
    type: Literal["basic"]
    username: EnvStr
    password: Secret


class ApiKeyAuthConfig(Section):
    """An API key sent in a header on every request (``X-Api-Key: …``)."""

    type: Literal["api_key"]
    header: str = Field(default="X-Api-Key", pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    key: Secret


class OAuth2ClientCredentialsConfig(Section):
    """OAuth 2.0 client credentials: a token from ``token_url``, cached until it expires."""

    type: Literal["oauth2_client_credentials"]
    token_url: Annotated[EnvStr, AfterValidator(http_url)]
    client_id: EnvStr
    client_secret: Secret
    scope: EnvStr | None = None
    audience: EnvStr | None = None
    client_auth: Literal["basic", "body"] = Field(
        default="basic", description="client id and secret as HTTP Basic or as form fields"
    )


class PaginationConfig(Section):
    max_pages: int = Field(
        default=10, ge=1, le=1000, description="pages one call may read from a paged answer"
    )


RestAuth = Annotated[
    BearerAuthConfig | BasicAuthConfig | ApiKeyAuthConfig | OAuth2ClientCredentialsConfig,
    Field(discriminator="type"),
]


class RestBackendConfig(Section):
    """A legacy system reached over REST/JSON; ``adapter`` names the mapping module."""

    kind: Literal["rest"]
    adapter: str = Field(pattern=r"^[A-Za-z_][\w.]*$", description="Python module path")
    base_url: Annotated[EnvStr, AfterValidator(http_url)]
    timeouts: TimeoutsConfig = TimeoutsConfig()
    operation_timeouts_s: dict[str, Annotated[float, Field(gt=0, le=600)]] = Field(
        default_factory=dict
    )
    max_connections: int = Field(default=100, ge=1, le=10_000)
    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    health_path: str = "/"
    headers: dict[str, EnvStr] = Field(default_factory=dict)
    pagination: PaginationConfig = PaginationConfig()
    auth: RestAuth | None = None


class WsSecurityAuthConfig(Section):
    """WS-Security UsernameToken in the SOAP header (``digest`` sends PasswordDigest)."""

    type: Literal["ws_security"]
    username: EnvStr
    password: Secret
    digest: bool = False


def _wsdl_location(value: str) -> str:
    if not re.match(r"^(https?://[^\s/]+|package:[A-Za-z_][\w.]*/\S+|[^:]+$)", value):
        raise ValueError(
            f"expected an http(s) URL, a file path or 'package:PACKAGE/FILE', got {value!r}"
        )
    return value


class SoapBackendConfig(Section):
    """A legacy system reached over SOAP; the WSDL is loaded (and cached) at start-up."""

    kind: Literal["soap"]
    adapter: str = Field(pattern=r"^[A-Za-z_][\w.]*$", description="Python module path")
    wsdl: Annotated[EnvStr, AfterValidator(_wsdl_location)] = Field(
        description="WSDL URL, file path, or 'package:PACKAGE/FILE' for a file shipped in a "
        "Python package"
    )
    endpoint: Annotated[EnvStr, AfterValidator(http_url)] | None = Field(
        default=None, description="Overrides the WSDL's soap:address"
    )
    service: str | None = Field(default=None, description="WSDL service; default: the first")
    port: str | None = Field(default=None, description="WSDL port; default: by soap_version")
    soap_version: Annotated[Literal["1.1", "1.2"], BeforeValidator(substitute)] = "1.1"
    timeouts: TimeoutsConfig = TimeoutsConfig()
    operation_timeouts_s: dict[str, Annotated[float, Field(gt=0, le=600)]] = Field(
        default_factory=dict
    )
    max_connections: int = Field(default=100, ge=1, le=10_000)
    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    headers: dict[str, EnvStr] = Field(default_factory=dict)
    wsdl_cache: EnvStr | None = Field(
        default="lastmile-wsdl-cache.sqlite",
        description="SQLite file caching fetched WSDL/XSD documents across restarts; null disables",
    )
    wsdl_cache_ttl_s: int = Field(default=86_400, ge=1)
    wsdl_load_timeout_s: float = Field(default=10.0, gt=0, le=300)
    auth: Annotated[BasicAuthConfig | WsSecurityAuthConfig, Field(discriminator="type")] | None = (
        None
    )


BackendConfig = Annotated[RestBackendConfig | SoapBackendConfig, Field(discriminator="kind")]
