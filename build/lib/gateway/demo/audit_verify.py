"""The end of the demo: an auditor verifies the trail and reads one agent's full story.

Played by :mod:`gateway.demo.audit_trail` (always the last chapter), so it covers the
calls of every chapter before it. The auditor uses only their own key and the public
checkpoint key the gateway publishes; verification reads the store file itself.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from gateway.audit import render
from gateway.audit.export import read_store
from gateway.audit.proofcheck import ProofError, check_proof
from gateway.audit.verify import verify_log
from gateway.demo.session import DemoContext, DemoFailed

AUDITOR = "kpmg-auditor"


def _story_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A call a person approved and that then ran, if there is one; else any call that
    waited for approval; else a write that succeeded."""
    calls = [e for e in entries if e["event"]["kind"] == "call"]
    for wanted in (
        lambda e: (
            (e["event"].get("approval") or {}).get("status") == "approved"
            and e["event"]["outcome"] == "ok"
        ),
        lambda e: e["event"].get("approval") is not None,
        lambda e: e["event"].get("effect") == "write" and e["event"]["outcome"] == "ok",
    ):
        found = [e for e in calls if wanted(e)]
        if found:
            return found[-1]
    raise DemoFailed("the trail holds no write to tell the story of")


async def play(demo: DemoContext) -> None:
    store = demo.audit_store
    if store is None:
        raise DemoFailed("the demo has no audit store to verify")

    demo.step("an agent key cannot read the audit trail")
    refused = await demo.call("GET", "/v1/audit/events", "inventory-bot")
    demo.expect(refused, 401, lambda b: b["code"] == "unauthenticated")
    demo.say(f"   HTTP 401 {refused.body['code']}: auditors hold their own keys")

    demo.step("the auditor verifies the whole trail against the signed checkpoint")
    await store.checkpoint()
    published = await demo.call("GET", "/v1/audit/checkpoint", AUDITOR)
    demo.expect(published, 200, lambda b: b["checkpoint"] is not None)
    checkpoint, public_key = published.body["checkpoint"], published.body["public_key"]
    demo.say(
        f"   checkpoint: {checkpoint['tree_size']} entries, root {checkpoint['root_hash'][:16]}…, "
        f"signed {checkpoint['time']} by key {checkpoint['key_id']} (Ed25519)"
    )
    path = Path(getattr(store, "path", ""))
    snapshot = await asyncio.to_thread(read_store, path)
    report = verify_log(snapshot, [base64.b64decode(public_key)])
    if not report.ok:
        raise DemoFailed(report.summary())
    demo.say(f"   lastmile audit verify: {report.summary()}")

    events = await demo.call("GET", "/v1/audit/events?limit=1000", AUDITOR)
    demo.expect(events, 200)
    entry = _story_entry(events.body["events"])
    request_id = entry["event"]["request_id"]

    demo.step("the auditor proves one call is in the log (RFC 9162 inclusion proof)")
    proof = await demo.call("GET", f"/v1/audit/requests/{request_id}/proof", AUDITOR)
    demo.expect(proof, 200)
    try:
        summary = check_proof(proof.body, [base64.b64decode(public_key)])
    except ProofError as exc:
        raise DemoFailed(f"the inclusion proof did not check: {exc}") from exc
    demo.say(f"   {len(proof.body['audit_path'])} hashes prove it: {summary}")

    agent = entry["event"]["agent_id"]
    demo.step(f"one call's full story  (lastmile audit show {request_id})")
    for line in render.story([entry]):
        demo.say(f"   {line}")
    if entry["event"].get("approval") is not None:
        demo.say(f"   ({agent}'s call waited for a person; the approval is part of the record)")
