"""The stored envelope around an audit event: its place in the log and its hashes.

The event itself (``schemas.audit.AuditEvent``) keeps its shape; the log wraps it as
``{"event": ..., "index": i, "prev_hash": hex}`` in canonical JSON. That text is the
Merkle leaf, and its leaf hash is the next entry's ``prev_hash``, so the hash chain and
the Merkle tree commit to exactly the same bytes. The text is stored as written and
hashed as stored: a later change to the event model cannot change old hashes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gateway.audit.proofcheck import canonical_json, leaf_hash
from schemas.audit import AuditEvent

_SURROGATE = re.compile(r"[\ud800-\udfff]")

QUERY_COLUMNS = ("kind", "agent_id", "agent_owner", "operation", "decision", "outcome")
"""Event fields copied into columns for queries; ``verify`` checks they match the entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One sealed entry of the log."""

    index: int
    prev_hash: str
    leaf_hash: str
    text: str  # canonical JSON of the envelope

    @property
    def envelope(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.text)
        return value

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = self.envelope["event"]
        return event

    def to_json(self) -> dict[str, Any]:
        """The API and export shape: place, hashes and the event."""
        return {
            "index": self.index,
            "prev_hash": self.prev_hash,
            "leaf_hash": self.leaf_hash,
            "event": self.event,
        }


def seal(index: int, prev_hash: str, event: AuditEvent) -> Entry:
    return seal_rendered(index, prev_hash, render_event(event))


def render_event(event: AuditEvent) -> bytes:
    """The event's canonical JSON: rendered once, on the event loop, then reused. An
    event without a configuration version renders exactly as before the field existed."""
    exclude = {"config_version"} if event.config_version is None else None
    return canonical_json(event.model_dump(mode="json", exclude=exclude))


def recordable(event: AuditEvent) -> tuple[AuditEvent, bytes]:
    """The event as it will be stored, and its canonical JSON.

    Text that is not valid Unicode (a lone surrogate, as Python decodes bytes that are
    not UTF-8) cannot be encoded. Rather than fail the call's audit, and with it the
    call, each such code point is recorded as U+FFFD, which shows where it was: every
    call leaves an event. Faces refuse such text at the edge; this is the last line."""
    try:
        return event, render_event(event)
    except UnicodeEncodeError:
        repaired = AuditEvent.model_validate(_without_surrogates(event.model_dump(mode="json")))
        return repaired, render_event(repaired)


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def seal_rendered(index: int, prev_hash: str, event_json: bytes) -> Entry:
    """The envelope built around an already canonical event, byte for byte what
    ``canonical_json({"event": ..., "index": ..., "prev_hash": ...})`` would give (its
    keys are in sorted order), without rendering the event again in the writer thread."""
    text = b"".join(
        (
            b'{"event":',
            event_json,
            b',"index":',
            str(index).encode(),
            b',"prev_hash":',
            canonical_json(prev_hash),
            b"}",
        )
    )
    return Entry(index, prev_hash, leaf_hash(text).hex(), text.decode("utf-8"))


def columns_of(event: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(event.get(name) for name in QUERY_COLUMNS)
