"""The live feed never holds up a call: a viewer that falls behind loses the oldest
events and counts them, and a viewer that left hears nothing more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.audit.feed import CallFeed
from schemas.audit import AuditEvent, Decision


def event(n: int) -> AuditEvent:
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=datetime.now(UTC),
        request_id=f"req_{n}",
        protocol="rest",
        agent_id="inventory-bot",
        agent_owner="team-logistics",
        on_behalf_of=None,
        operation="warehouse.stock.get",
        backend="acme_wms",
        effect=None,
        decision=Decision.ALLOW,
        outcome="ok",
        status=200,
        gateway_ms=1.0,
    )


async def test_a_slow_viewer_keeps_the_newest_events_and_counts_the_rest() -> None:
    feed = CallFeed()
    async with feed.subscribe(limit=4) as viewer:
        for n in range(10):
            feed.publish(event(n))

        kept = [viewer.queue.get_nowait().request_id for _ in range(viewer.queue.qsize())]

    assert kept == ["req_6", "req_7", "req_8", "req_9"]
    assert viewer.dropped == 6


async def test_a_viewer_that_left_hears_nothing_more() -> None:
    feed = CallFeed()
    async with feed.subscribe() as viewer:
        assert feed.listeners == 1
    feed.publish(event(1))

    assert feed.listeners == 0
    assert viewer.queue.empty()
