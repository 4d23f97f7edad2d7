"""Demo chapter, always last: the session's audit trail, one event per invocation, then
an auditor verifies it and reads one call's full story (:mod:`gateway.demo.audit_verify`)."""

from __future__ import annotations

from gateway.demo import audit_verify
from gateway.demo.session import DemoContext, DemoFailed
from schemas.audit import EventKind


async def play(demo: DemoContext) -> None:
    demo.step("the session's audit trail")
    events = await demo.audit()
    # one event per agent invocation, plus people's acts and the calls they approved
    calls = [e for e in events if e.kind is EventKind.CALL and e.protocol != "approval"]
    if len(calls) != demo.invocations:
        raise DemoFailed(
            f"expected {demo.invocations} audit events (one per invocation), found {len(calls)}"
        )
    header = ("time", "agent / person", "operation", "decision", "outcome", "on behalf of")
    demo.say("   {:<12} {:<18} {:<33} {:<17} {:<18} {}".format(*header))
    for e in events:
        who = e.actor if e.kind is EventKind.ADMIN else e.agent_id
        demo.say(
            f"   {e.time.strftime('%H:%M:%S.%f')[:12]} {who or '-':<18} {e.operation:<33} "
            f"{e.decision.value:<17} {e.outcome:<18} {e.on_behalf_of or e.target or ''}"
        )
    await audit_verify.play(demo)
