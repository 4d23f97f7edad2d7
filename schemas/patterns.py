"""The shapes of identifiers and option values that cross the gateway's edge.

One module, so a face and a stage can never disagree about what a valid value is, and
every check is a :func:`re.fullmatch`: with ``re.match`` and a ``$`` anchor, Python
accepts a trailing newline (``"lea\\n"``), which once let an agent's on-behalf-of value
slip past a self-approval check. Use :func:`is_valid` rather than the patterns directly.
"""

from __future__ import annotations

import re
import unicodedata

END_USER = re.compile(r"[\w.@+:/-]{1,200}", re.ASCII)
"""An end user an agent acts for (``X-On-Behalf-Of``, MCP ``onBehalfOf``)."""
END_USER_RULE = "1-200 characters of ASCII letters, digits and . _ @ + : / -"

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
"""An ``Idempotency-Key``: 1-255 visible ASCII characters (a UUID is a good choice)."""

APPROVAL_ID = re.compile(r"apr_[0-9a-f]{32}")

AUDIT_POSITION = re.compile(r"-1|0|[1-9][0-9]{0,17}")
"""A place in the audit trail: an entry's index, or -1 for before the first (the
console's live stream resumes after it: ``?after=``, ``Last-Event-ID``)."""

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""A tool name every model API and agent host accepts (OpenAI, Anthropic, Claude Desktop)."""


def is_valid(pattern: re.Pattern[str], value: object) -> bool:
    """Whether ``value`` is a string matching ``pattern`` in full (no trailing newline)."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def same_person(a: str, b: str) -> bool:
    """Whether two user names denote the same person, compared on normalised forms
    (Unicode NFKC, case-folded, surrounding blanks dropped), and an e-mail address's local
    part counting as its user id: ``Lea.Fischer@acme.example`` is ``lea.fischer``."""
    left, right = _normalised(a), _normalised(b)
    if not left or not right:
        return False
    return left == right or left.split("@", 1)[0] == right.split("@", 1)[0]


def _normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()
