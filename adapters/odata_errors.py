"""What an OData answer that is not a success means, as ``schemas.errors``.

OData services say what went wrong in one of three shapes, all read here:

- V2 (and SAP Gateway): ``{"error": {"code": …, "message": {"lang": "en", "value": …},
  "innererror": {"errordetails": [{"code": …, "message": …, "severity": "error"}]}}}``;
- V4: ``{"error": {"code": …, "message": …, "details": [{"code": …, "message": …}]}}``;
- anything else (an HTML page from a proxy): no message, only the status.

Status to problem::

    404                          BackendNotFound       404 backend_not_found
    412 (stale ETag)             BackendConflict       409 backend_conflict  (re-read, retry)
    428 (If-Match required)      BackendRejected       422 backend_rejected
    429, 502, 503, 504           BackendUnavailable    503 backend_unavailable (Retry-After)
    401, 403                     BackendError          502 backend_error (our credentials)
    other 4xx                    BackendRejected       422 backend_rejected
    other 5xx                    BackendError          502 backend_error

Every backend message passes ``safe_text`` (length-bounded, control characters and
credential-looking text scrubbed) before it reaches an agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.base import safe_text
from adapters.http import HttpReply
from schemas.errors import BackendConflict, BackendError, BackendNotFound, BackendRejected

__all__ = ["error_for", "message_of"]

MAX_DETAILS = 5


def message_of(body: bytes) -> str:
    """The backend's own words from an OData error body (safe), or ""."""
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        return ""
    error = decoded.get("error") if isinstance(decoded, Mapping) else None
    if not isinstance(error, Mapping):
        return ""
    parts = [_text(error.get("message"))]
    inner = error.get("innererror")
    details: Any = error.get("details")
    if isinstance(inner, Mapping) and isinstance(inner.get("errordetails"), list):
        details = inner["errordetails"]
    if isinstance(details, list):
        for item in details[:MAX_DETAILS]:
            if isinstance(item, Mapping):
                text = _text(item.get("message"))
                if text and text not in parts:
                    parts.append(text)
    code = error.get("code")
    joined = "; ".join(p for p in parts if p)
    if isinstance(code, str) and code and joined:
        joined = f"{joined} [{code}]"
    return safe_text(joined, 500) if joined else ""


def _text(message: Any) -> str:
    if isinstance(message, str):
        return message
    if isinstance(message, Mapping) and isinstance(message.get("value"), str):
        return str(message["value"])
    return ""


def error_for(reply: HttpReply) -> BackendError:
    """The error a non-2xx OData answer stands for (see the module's table)."""
    status = reply.status
    message = message_of(reply.body)
    unavailable = reply.unavailable(message)
    if unavailable is not None:
        return unavailable
    said = f": {message}" if message else f" (HTTP {status})"
    if status == 404:
        return BackendNotFound(f"The backend has no such record{said}")
    if status == 412:
        return BackendConflict(
            "The record changed since it was read (its ETag no longer matches)"
            f"{said}. Read it again and retry the change with the new etag."
        )
    if status == 428:
        return BackendRejected(
            "The backend requires the record's etag (If-Match) for this change: read the "
            "record and pass its etag."
        )
    if status in (401, 403):
        return BackendError(
            f"The backend refused the gateway's credentials (HTTP {status}){said}; the "
            "backend's owner must fix the configured credentials."
        )
    if 400 <= status < 500:
        return BackendRejected(f"The backend rejected the request{said}")
    return BackendError(f"The backend failed{said}")
