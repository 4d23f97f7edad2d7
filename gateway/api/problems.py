"""RFC 9457 problem documents for every error the gateway answers with."""

from __future__ import annotations

import json

from aiohttp import web

from gateway.guardrails.safety import scrub
from schemas.errors import GatewayError, retry_after_seconds

PROBLEM_TYPE_BASE = "https://lastmile.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_document(
    error: GatewayError, request_id: str, instance: str | None
) -> dict[str, object]:
    """The problem as a JSON object; the MCP face puts the same document in a tool error."""
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": scrub(error.detail),
        "code": error.code,
        "request_id": request_id,
        "retryable": error.retryable,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(error.extras)
    return body


def problem_response(error: GatewayError, request_id: str, instance: str | None) -> web.Response:
    body = problem_document(error, request_id, instance)
    response = web.Response(
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        charset="utf-8",
    )
    retry_after = error.extras.get("retry_after_s")
    if isinstance(retry_after, int | float):
        response.headers["Retry-After"] = str(retry_after_seconds(retry_after))
    for name, value in error.headers.items():
        response.headers[name] = value
    challenge = _challenge(error)
    if challenge is not None:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _challenge(error: GatewayError) -> str | None:
    """RFC 6750's challenge: ``invalid_token`` for a token we refused, ``insufficient_scope``
    for one without the scopes we need; the description stays in the problem document."""
    if error.code == "insufficient_scope":
        return 'Bearer realm="lastmile", error="insufficient_scope"'
    if error.status != 401:
        return None
    if error.code.startswith("token_"):
        return 'Bearer realm="lastmile", error="invalid_token"'
    return 'Bearer realm="lastmile"'
