"""The one scrubber for text that leaves the gateway: no secrets, connection strings or
stack traces.

Backends put surprising things in their error messages (a DSN with its password, the
token they were sent, a Python traceback). Every text that carries error details or a
backend's free text out of the gateway passes through here: problem details, MCP tool
errors, approval documents and the audit trail get :func:`scrub`; the process log gets
:func:`scrub_secrets` (engineers keep their stack traces, nobody gets a password).

Besides the shapes of secrets (credentials in URLs, bearer tokens, ``password=`` pairs,
API-key-looking words), the literal values of the secrets in the configuration (backend
tokens, passwords, secret header values) are registered at start-up and replaced
wherever they appear, whatever their shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from pydantic import BaseModel, SecretStr

from schemas.errors import GatewayError

_SECRET_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://***@host (URLs and DSNs alike)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@"), r"\1***@"),
    (re.compile(r"(?i)\b(bearer|basic|token|apikey)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (re.compile(r"\blm_[A-Za-z0-9_-]{8,}"), "lm_***"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|"
            r"client[_-]?secret|authorization)"
            r"(\"?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
        ),
        r"\1\2***",
    ),
)
_TRACEBACKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL), "[stack trace removed]"),
    (re.compile(r'File "[^"]+", line \d+'), "[source location removed]"),
)
_MIN_LITERAL = 4  # shorter "secrets" would blank out ordinary words


class _Literals:
    values: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None


_LITERALS = _Literals()


def register_secrets(values: Iterable[str]) -> None:
    """Remember the configured secrets' literal values (process-wide, like the log)."""
    known = _LITERALS.values | {v for v in values if len(v) >= _MIN_LITERAL}
    _LITERALS.values = frozenset(known)
    literals = sorted(known, key=len, reverse=True)  # the longest match wins
    _LITERALS.pattern = re.compile("|".join(map(re.escape, literals))) if literals else None


def scrub_secrets(text: str) -> str:
    """``text`` without secrets: what may go to the process log."""
    if _LITERALS.pattern is not None:
        text = _LITERALS.pattern.sub("***", text)
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def scrub(text: str) -> str:
    """``text`` without secrets or stack traces: what may go to agents and auditors."""
    text = scrub_secrets(text)
    for pattern, replacement in _TRACEBACKS:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any, text: Callable[[str], str] = scrub) -> Any:
    """A JSON-like value with every string in it passed through ``text``."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {k: scrub_value(v, text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, text) for v in value]
    return value


def scrub_error(error: GatewayError) -> GatewayError:
    """Scrub an error's detail and extras in place (it is about to leave); returns it."""
    error.detail = scrub(error.detail)
    if error.extras:
        error.extras = scrub_value(error.extras)
    return error


def scrub_log_event(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> dict[str, Any]:
    """A structlog processor: every string in the event, secrets removed."""
    return {k: scrub_value(v, scrub_secrets) for k, v in event.items()}


_SECRET_HEADER = re.compile(r"(?i)auth|key|token|secret|passw|cookie|session|signature")


def secret_values(model: BaseModel) -> list[str]:
    """Every secret in the configuration, for the scrubber: the ``${ENV}`` secrets and
    the values of backend headers whose names say they carry one."""
    found: list[str] = []
    for name, value in model:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found += secret_values(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    found += secret_values(item)
                elif name == "headers" and isinstance(item, str) and _SECRET_HEADER.search(key):
                    found.append(item)
        elif isinstance(value, list):
            found += [
                v for item in value if isinstance(item, BaseModel) for v in secret_values(item)
            ]
    return found
