"""The last answers written straight onto a connection, outside any request handler:
408 for a request head that came too slowly, 503 overloaded beyond the cap. They are
the same problem documents the application answers with, plus ``Connection: close``."""

from __future__ import annotations

import json
from http import HTTPStatus

from gateway.api.middleware import new_request_id
from gateway.api.problems import PROBLEM_CONTENT_TYPE, problem_document
from schemas.errors import GatewayError, Overloaded, RequestTimeout, retry_after_headers


def raw_problem(error: GatewayError) -> bytes:
    request_id = new_request_id()
    body = json.dumps(problem_document(error, request_id, None), ensure_ascii=False).encode()
    headers = {
        "Content-Type": f"{PROBLEM_CONTENT_TYPE}; charset=utf-8",
        "Content-Length": str(len(body)),
        "Connection": "close",
        "X-Request-Id": request_id,
        **error.headers,
    }
    head = f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "\r\n").encode("latin-1") + body


def head_too_slow(header_s: float) -> bytes:
    return raw_problem(
        RequestTimeout(
            f"The request head did not arrive within {header_s:g} s; "
            "send the request line and headers at once."
        )
    )


def overloaded(max_open: int) -> bytes:
    return raw_problem(
        Overloaded(
            f"The gateway holds its limit of {max_open} connections; retry in a second, "
            "and reuse one connection for many calls.",
            headers=retry_after_headers(1),
        )
    )
