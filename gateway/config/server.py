"""The ``server:`` section of gateway.yaml: where the gateway listens and its bounds."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from gateway.config.connections import ConnectionsConfig
from gateway.config.primitives import EnvStr, Section, absolute_url


class ServerConfig(Section):
    host: EnvStr = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_in_flight: int = Field(
        default=1024, ge=1, description="Operation calls served at once; more get 503 overloaded"
    )
    public_url: Annotated[EnvStr, AfterValidator(absolute_url)] | None = Field(
        default=None,
        description="Where agents reach the gateway (behind a proxy, say); /openapi.json "
        "names it in servers. Unset: servers is [{url: /}], relative to the document.",
    )
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default=[],
        max_length=256,
        description="Addresses (or CIDR ranges) of the load balancers and reverse proxies "
        "in front of the gateway: only from these is X-Forwarded-For believed when telling "
        "who a client is (console sign-in throttling and its audit). Unset: the TCP peer.",
    )
    connections: ConnectionsConfig = ConnectionsConfig()
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The event loop lastmile serve runs on: uvloop (libuv, in C) spends "
        "less CPU per call than asyncio's loop, which is written in Python (bench/README.md)",
    )
