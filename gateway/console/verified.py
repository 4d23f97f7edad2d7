"""Where the last successful verification of the trail ended, so the next one reads only
what was appended since (issue: "incrementally from the last verified checkpoint").

The resume point lives in the shared state store, so any process's console continues
from it. It needs no trust in that store: it is a signed checkpoint with the Merkle
frontier at its size, and verification checks the signature (with the pinned key) and
that the frontier folds to the signed root before using it; a planted or stale point can
only make a run longer or fail it, never pass an altered log. It is keyed by the trail
(store, location and signing key), so a console pointed at another trail starts afresh.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.audit.verify import Report
from gateway.config import Config
from gateway.state import StateStore
from schemas.errors import StateUnavailable

log = structlog.get_logger("lastmile.console")

KEEP_S = 400 * 86400.0  # beyond a year of audits; a lost point only costs one full run


def trail_key(config: Config, public_key: str) -> str:
    audit = config.audit
    where = "postgres" if audit.store == "postgres" else str(audit.path)
    digest = hashlib.sha256(f"{audit.store}|{where}|{public_key}".encode()).hexdigest()[:24]
    return f"console:audit:verified:{digest}"


async def last_verification(state: StateStore, key: str) -> dict[str, Any] | None:
    """The last successful run's record, or None (none yet, or the state store is away:
    then the run reads the whole trail, which needs no state)."""
    try:
        raw = await state.get(key)
    except StateUnavailable:
        return None
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("resume"), dict) else None


async def remember(state: StateStore, key: str, report: Report, by: str) -> None:
    """Keep where a successful run ended. A failed run forgets the point, so the next
    run reads the whole trail again and cannot pass over a broken prefix."""
    try:
        if not report.ok:
            await state.delete(key)
            return
        if report.resume_point is None:
            return
        record = {
            "resume": report.resume_point,
            "size": int(report.resume_point["size"]),
            "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": by,
        }
        await state.put(key, json.dumps(record).encode(), KEEP_S)
    except StateUnavailable:
        log.warning("audit_resume_point_not_kept", reason="state store unavailable")
