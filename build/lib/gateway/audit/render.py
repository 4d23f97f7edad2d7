"""Audit events as text for people: one line per event, or one call's whole story.

Events hold untrusted text (agent input, backend messages, header values). Every value
goes through :func:`safe` before it reaches a terminal, so a CR/LF cannot start a forged
line and an escape sequence cannot recolour, move the cursor or retitle the window.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def safe(value: object) -> str:
    """``value`` as one printable line: backslash, controls, format characters (bidi
    overrides, zero-width), line and paragraph separators escaped as ``\\n``/``\\xNN``/
    ``\\uNNNN``."""
    out = []
    for char in str(value):
        if char in _SHORT:
            out.append(_SHORT[char])
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _json(value: Any) -> str:
    return safe(json.dumps(value, ensure_ascii=False, sort_keys=True))


def line(entry: dict[str, Any]) -> str:
    """One event on one line (``tail``, ``search``)."""
    event = entry["event"]
    who = event.get("agent_id") or event.get("actor") or "-"
    parts = [
        f"{entry['index']:>6}",
        safe(event.get("time", "")),
        f"{safe(who):<20}",
        f"{safe(event.get('operation', '')):<34}",
        f"{safe(event.get('decision', '')):<17}",
        f"{safe(event.get('outcome', ''))} {event.get('status', '')}",
        f"req={safe(event.get('request_id', ''))}",
    ]
    if event.get("on_behalf_of"):
        parts.append(f"for={safe(event['on_behalf_of'])}")
    return " ".join(parts)


def story(entries: list[dict[str, Any]]) -> list[str]:
    """Everything the trail knows about one request, in the order it happened."""
    lines: list[str] = []
    for entry in entries:
        event = entry["event"]
        lines.append(
            f"entry {entry['index']}  event {safe(event['event_id'])}  "
            f"leaf {entry['leaf_hash'][:16]}…"
        )
        lines.extend(f"  {label:<12}{text}" for label, text in _facts(event) if text)
    return lines


def _facts(e: dict[str, Any]) -> list[tuple[str, str]]:
    if e.get("kind") == "admin":
        return [
            ("when", safe(e["time"])),
            ("who", f"staff {safe(e.get('actor'))}"),
            ("action", f"{safe(e.get('action'))} on {safe(e.get('target'))}"),
            ("detail", safe(e["detail"]) if e.get("detail") else ""),
        ]
    agent = (
        f"agent {safe(e['agent_id'])} (accountable owner {safe(e.get('agent_owner'))})"
        if e.get("agent_id")
        else "unidentified caller"
    )
    facts = [
        ("request", safe(e["request_id"])),
        ("when", safe(e["time"])),
        ("who", f"{agent} over {safe(e.get('protocol'))}"),
        ("for", safe(e["on_behalf_of"]) if e.get("on_behalf_of") else ""),
        (
            "operation",
            f"{safe(e['operation'])}"
            + (f" on {safe(e['backend'])} ({safe(e.get('effect'))})" if e.get("backend") else ""),
        ),
        ("input", _json(e["input"]) if e.get("input") is not None else ""),
        ("input hash", safe(e["input_sha256"]) if e.get("input_sha256") else ""),
        ("decision", _decision(e)),
        ("approval", _approval(e.get("approval"))),
        ("dry run", "yes: the backend was not called" if e.get("dry_run") else ""),
        ("idempotency", _idempotency(e)),
        ("attempts", _attempts(e.get("attempts") or [])),
        ("outcome", f"{safe(e['outcome'])} (HTTP {e['status']})"),
        ("detail", safe(e["detail"]) if e.get("detail") else ""),
        ("reference", safe(e["backend_reference"]) if e.get("backend_reference") else ""),
        ("before", _json(e["before"]) if e.get("before") is not None else ""),
        ("after", _json(e["after"]) if e.get("after") is not None else ""),
        ("latency", _latency(e)),
    ]
    return facts


def _decision(e: dict[str, Any]) -> str:
    text = safe(e.get("decision"))
    if e.get("policy_ids"):
        text += "  policies: " + ", ".join(safe(p) for p in e["policy_ids"])
    if e.get("reasons"):
        text += "  reasons: " + "; ".join(safe(r) for r in e["reasons"])
    if e.get("shadow_decision"):
        text += f"  (shadow policy would have: {safe(e['shadow_decision'])})"
    return text


def _approval(approval: dict[str, Any] | None) -> str:
    if not approval:
        return ""
    text = f"{safe(approval.get('status'))} ({safe(approval.get('approval_id'))})"
    if approval.get("approver"):
        text += f" by {safe(approval['approver'])}"
    if approval.get("decided_at"):
        text += f" at {safe(approval['decided_at'])}"
    if approval.get("reason"):
        text += f": {safe(approval['reason'])}"
    return text


def _idempotency(e: dict[str, Any]) -> str:
    if not e.get("idempotency_key"):
        return ""
    key = f"key {safe(e['idempotency_key'])}"
    return key + ("; answered from the stored result" if e.get("replayed") else "")


def _attempts(attempts: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"#{a.get('number')} {a.get('duration_ms')} ms "
        + (safe(a["error_code"]) + (f" ({safe(a['detail'])})" if a.get("detail") else ""))
        if a.get("error_code")
        else f"#{a.get('number')} {a.get('duration_ms')} ms ok"
        for a in attempts
    )


def _latency(e: dict[str, Any]) -> str:
    text = f"gateway {e.get('gateway_ms')} ms"
    if e.get("backend_ms") is not None:
        text += f", backend {e['backend_ms']} ms"
    return text
