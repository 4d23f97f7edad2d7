"""RFC 9728 protected-resource metadata, and the challenge that points agents to it.

An OAuth-capable agent host that is refused with 401 needs to learn where to get a
token. When an identity provider is configured (``oidc:``), ``/.well-known/oauth-
protected-resource`` publishes the gateway as a protected resource: its identifier, the
authorization servers that issue tokens for it, how to send them, and the scopes it
requires; ``/.well-known/oauth-protected-resource/mcp`` describes ``/mcp`` the same way
(the location MCP clients try first). Every 401 (and 403 ``insufficient_scope``) on an
agent route then carries ``WWW-Authenticate: Bearer resource_metadata="<url>"``, as
MCP's authorization specification asks of a protected resource.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.config.oidc import OidcConfig

WELL_KNOWN = "/.well-known/oauth-protected-resource"
AGENT_PATHS = ("/mcp", "/v1/operations")
"""Routes agents call: their refusals name the metadata (staff routes do not)."""


@dataclass(frozen=True, slots=True)
class ProtectedResource:
    oidc: OidcConfig
    public_url: str | None

    def base(self, request: web.Request) -> str:
        """Where agents reach us: ``server.public_url``, else the URL this request used."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def metadata_url(self, request: web.Request) -> str:
        suffix = "/mcp" if request.path == "/mcp" else ""
        return self.base(request) + WELL_KNOWN + suffix

    def document(self, request: web.Request, resource_path: str) -> dict[str, object]:
        document: dict[str, object] = {
            "resource": self.base(request) + resource_path,
            "authorization_servers": self.oidc.authorization_servers or [self.oidc.issuer],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": list(self.oidc.algorithms),
        }
        if self.oidc.scopes:
            document["scopes_supported"] = list(self.oidc.scopes)
        if self.oidc.resource_name:
            document["resource_name"] = self.oidc.resource_name
        return document


PROTECTED_RESOURCE = web.AppKey("protected_resource", ProtectedResource)


def add_protected_resource_routes(
    app: web.Application, oidc: OidcConfig | None, public_url: str | None
) -> None:
    if oidc is None:
        return
    app[PROTECTED_RESOURCE] = ProtectedResource(oidc, public_url)
    app.router.add_get(WELL_KNOWN, _metadata)
    app.router.add_get(WELL_KNOWN + "/mcp", _metadata)


async def _metadata(request: web.Request) -> web.Response:
    resource_path = request.path.removeprefix(WELL_KNOWN)
    document = request.app[PROTECTED_RESOURCE].document(request, resource_path)
    return web.json_response(document, headers={"Cache-Control": "max-age=3600"})


def point_to_metadata(request: web.Request, response: web.StreamResponse) -> None:
    """Add ``resource_metadata`` to the challenge of an agent route's refusal."""
    resource = request.app.get(PROTECTED_RESOURCE)
    challenge = response.headers.get("WWW-Authenticate")
    if resource is None or challenge is None:
        return
    if not any(request.path == p or request.path.startswith(p + "/") for p in AGENT_PATHS):
        return
    url = resource.metadata_url(request)
    response.headers["WWW-Authenticate"] = f'{challenge}, resource_metadata="{url}"'
