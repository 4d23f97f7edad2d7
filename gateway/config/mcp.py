"""The ``mcp:`` section of gateway.yaml."""

from __future__ import annotations

from pydantic import Field

from gateway.config.primitives import Section


class McpConfig(Section):
    """The MCP endpoint at ``/mcp``: session bounds and the hosts and origins it trusts."""

    enabled: bool = True
    max_sessions: int = Field(default=1000, ge=1, le=1_000_000)
    max_sessions_per_agent: int = Field(default=100, ge=1, le=1_000_000)
    session_idle_s: float = Field(default=3600, gt=0, le=7 * 24 * 3600)
    progress_interval_s: float = Field(
        default=2,
        gt=0,
        le=60,
        description="A tool call that asks for progress and runs longer than this turns "
        "into an event stream with a progress notification this often",
    )
    allowed_hosts: list[str] = Field(
        default=[],
        description="Host header values (host[:port]) /mcp answers besides the host of "
        "server.public_url and loopback names on the served port; guards against DNS "
        "rebinding",
    )
    allowed_origins: list[str] = Field(
        default=[],
        description="Browser origins (scheme://host[:port]) allowed besides those whose "
        "host is allowed; guards against DNS rebinding from browsers",
    )
