"""Audit events for what people do at the gateway: halts, approvals, policy reloads.

Administrative acts go into the same trail as calls, so an auditor reads one story.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.audit.store import AuditStore
from schemas.audit import AuditEvent, Decision, EventKind


async def record_admin_action(
    store: AuditStore,
    *,
    request_id: str,
    actor: str,
    action: str,
    target: str,
    detail: str | None = None,
    config_version: int | None = None,
) -> AuditEvent:
    """Append (durably) the event for one administrative act and return it."""
    event = AuditEvent(
        event_id=uuid.uuid4().hex,
        kind=EventKind.ADMIN,
        time=datetime.now(UTC),
        request_id=request_id,
        protocol="admin",
        agent_id=None,
        agent_owner=None,
        on_behalf_of=None,
        operation=f"admin.{action}",
        backend=None,
        effect=None,
        decision=Decision.NONE,
        outcome="ok",
        status=200,
        detail=detail,
        gateway_ms=0.0,
        config_version=config_version,
        actor=actor,
        action=action,
        target=target,
    )
    await store.append(event)
    return event
