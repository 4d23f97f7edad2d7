"""Demo chapter, always last: the session's audit trail, one event per invocation, then
an auditor verifies it and reads one call's full story (:mod:`gateway.demo.audit_verify`)."""

from __future__ import annotations

from gateway.demo import audit_verify
from gateway.demo.session import DemoContext, DemoFailed


async def play(demo: DemoContext) -> None:
    demo.step("the session's audit trail")
    events = await demo.audit()
    if len(events) != demo.invocations:
        raise DemoFailed(
            f"expected {demo.invocations} audit events (one per invocation), found {len(events)}"
        )
    header = ("time", "agent", "operation", "decision", "outcome", "on behalf of")
    demo.say("   {:<12} {:<18} {:<33} {:<8} {:<18} {}".format(*header))
    for e in events:
        demo.say(
            f"   {e.time.strftime('%H:%M:%S.%f')[:12]} {e.agent_id or '-':<18} {e.operation:<33} "
            f"{e.decision.value:<8} {e.outcome:<18} {e.on_behalf_of or ''}"
        )
    await audit_verify.play(demo)
