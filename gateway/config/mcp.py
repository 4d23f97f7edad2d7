"""The ``mcp:`` section of gateway.yaml."""

from __future__ import annotations

from pydantic import Field

from gateway.config.primitives import Section


class McpConfig(Section):
    """The MCP endpoint at ``/mcp``: session bounds and the browser origins it trusts."""

    enabled: bool = True
    max_sessions: int = Field(default=1000, ge=1, le=1_000_000)
    max_sessions_per_agent: int = Field(default=100, ge=1, le=1_000_000)
    session_idle_s: float = Field(default=3600, gt=0, le=7 * 24 * 3600)
    allowed_origins: list[str] = Field(
        default=[],
        description="Origins (scheme://host[:port]) allowed besides loopback and the "
        "gateway's own host; guards against DNS rebinding from browsers",
    )
