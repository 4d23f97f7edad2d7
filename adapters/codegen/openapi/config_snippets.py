"""What to paste into the gateway's config for a generated package.

``gateway.snippet.yaml`` holds the backend entry (kind ``rest``, the base URL from the
description's first server, authentication from its first security scheme, secrets as
environment variables) and an agent stanza allowed the backend's operations;
``permit.cedar`` permits the backend's reads and lists a commented permit per write, so
granting a write stays a decision someone makes.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from adapters.codegen.config_snippets import WritePermit, agent_stanza, render_permits
from adapters.codegen.openapi.document import OpenApiDocument, mapping
from adapters.codegen.openapi.plan import PlannedOperation


def server_url(doc: OpenApiDocument) -> str:
    """The first server, its variables at their defaults, relative URLs resolved against
    the description's own URL (as OpenAPI says); ``http://127.0.0.1:8080`` if none."""
    root = doc.root
    if doc.swagger2:
        host = root.get("host")
        if not host:
            url = str(root.get("basePath") or "/")
        else:
            schemes = root.get("schemes") or ["https"]
            url = f"{schemes[0]}://{host}{root.get('basePath') or ''}"
    else:
        servers = root.get("servers") if isinstance(root.get("servers"), list) else []
        first = servers[0] if servers and isinstance(servers[0], dict) else {}
        url = str(first.get("url") or "/")
        for key, variable in mapping(first.get("variables")).items():
            default = variable.get("default") if isinstance(variable, dict) else None
            url = url.replace("{" + str(key) + "}", str(default or ""))
    if not urlsplit(url).scheme:
        base = doc.source if urlsplit(doc.source).scheme in ("http", "https") else ""
        url = urljoin(base, url) if base else "http://127.0.0.1:8080" + ("/" + url.lstrip("/"))
    return url.rstrip("/") or url


def auth_lines(doc: OpenApiDocument, env: str) -> list[str]:
    """The ``auth:`` entry for the first security scheme the config can speak, in block
    style (a ``${VAR}`` inside a YAML flow mapping would not parse)."""
    schemes = _schemes(doc)
    for scheme in schemes.values():
        if not isinstance(scheme, dict):
            continue
        kind = str(scheme.get("type", "")).lower()
        http = str(scheme.get("scheme", "")).lower()
        if kind == "basic" or (kind == "http" and http == "basic"):
            fields = {"type": "basic", "username": f"${{{env}_USERNAME}}",
                      "password": f"${{{env}_PASSWORD}}"}  # fmt: skip
        elif kind == "http" and http == "bearer":
            fields = {"type": "bearer", "token": f"${{{env}_TOKEN}}"}
        elif kind == "apikey" and scheme.get("in") == "header":
            header = json.dumps(str(scheme.get("name") or "X-Api-Key"))
            fields = {"type": "api_key", "header": header, "key": f"${{{env}_API_KEY}}"}
        elif _client_credentials_url(scheme):
            fields = {"type": "oauth2_client_credentials",
                      "token_url": json.dumps(_client_credentials_url(scheme)),
                      "client_id": f"${{{env}_CLIENT_ID}}",
                      "client_secret": f"${{{env}_CLIENT_SECRET}}"}  # fmt: skip
        else:
            continue
        return ["auth:", *(f"  {key}: {value}" for key, value in fields.items())]
    if schemes:
        kinds = ", ".join(
            sorted({str(s.get("type")) for s in schemes.values() if isinstance(s, dict)})
        )
        return [f"# auth: TODO the description names {kinds}; see docs/openapi.md for the kinds"]
    return ["# auth: the description names no security scheme"]


def _schemes(doc: OpenApiDocument) -> dict[str, Any]:
    if doc.swagger2:
        found = doc.root.get("securityDefinitions")
    else:
        components = doc.root.get("components")
        found = components.get("securitySchemes") if isinstance(components, dict) else None
    return found if isinstance(found, dict) else {}


def _client_credentials_url(scheme: dict[str, Any]) -> str:
    if str(scheme.get("type", "")).lower() != "oauth2":
        return ""
    if scheme.get("flow") == "application":  # Swagger 2.0's name for client credentials
        return str(scheme.get("tokenUrl") or "")
    flow = mapping(scheme.get("flows")).get("clientCredentials")
    return str(flow.get("tokenUrl") or "") if isinstance(flow, dict) else ""


_HEALTH = re.compile(r"/(health|healthz|ping|status|heartbeat|livez|readyz)/?$", re.IGNORECASE)


def health_path(doc: OpenApiDocument) -> str:
    """A GET the description offers for health (``/health``, ``/ping``…), else ``/``."""
    for path, item in mapping(doc.root.get("paths")).items():
        if _HEALTH.search(str(path)) and "{" not in str(path) and "get" in mapping(item):
            return str(path)
    return ""


def render_snippet(doc: OpenApiDocument, name: str, owner: str) -> str:
    env = name.upper()
    health = health_path(doc)
    health_line = (
        f"    health_path: {health}           # GET by /readyz, from the description"
        if health
        else "    health_path: /                 # TODO confirm: a cheap GET that answers 2xx"
    )
    return "\n".join(
        [
            f"# Paste into gateway.yaml: the backend entry and an agent stanza for {name},",
            "# generated by `lastmile adapter new`. Review every TODO; the generated package",
            "# must be importable by the gateway (its parent directory on PYTHONPATH).",
            "backends:",
            f"  {name}:",
            "    kind: rest",
            f"    adapter: {name}.adapter",
            f"    base_url: ${{{env}_URL:-{server_url(doc)}}}",
            health_line,
            "    timeouts: {connect_s: 2, read_s: 10, total_s: 15}",
            "    pagination: {max_pages: 10}    # pages one call may read, where answers are paged",
            *(f"    {line}" for line in auth_lines(doc, env)),
            *agent_stanza(name, owner),
            "",
        ]
    )


def render_cedar(name: str, ops: list[PlannedOperation]) -> str:
    return render_permits(
        name,
        [
            WritePermit(
                f"{name}-{op.function.replace('_', '-')}",
                f"{op.api.method.upper()} {op.api.path}",
                op.name,
            )
            for op in ops
            if op.effect == "WRITE"
        ],
    )
