"""Safe texts for agents: no secrets, connection strings or stack traces.

Every problem detail passes through :func:`scrub` before it leaves the gateway (and
before it enters the audit trail): credentials in URLs, bearer tokens, API keys,
``password=`` style pairs and traceback text are replaced, whatever stage or adapter
wrote the message.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://***@host (URLs and DSNs alike)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*(?::[^/\s@]*)?@"), r"\1***@"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}"), "Bearer ***"),
    (re.compile(r"\blm_[A-Za-z0-9_-]{8,}"), "lm_***"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)"
            r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
        ),
        r"\1\2***",
    ),
    (re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL), "[stack trace removed]"),
    (re.compile(r'File "[^"]+", line \d+'), "[source location removed]"),
)


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
