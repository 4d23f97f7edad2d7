"""The audit page's downloads: the whole trail as a JSON lines export that ``verify``
accepts, and one request's inclusion proof that checks against the signed checkpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from gateway.appkeys import AUDIT_STORE
from gateway.audit.export import read_export
from gateway.audit.proofcheck import check_proof
from gateway.audit.verify import verify_log
from tests.conftest import AUDITOR, INVENTORY, OPERATOR
from tests.console.conftest import Console, post_sign_in

STOCK = {"material": "100234", "plant": "1000"}


async def a_call(console: Console) -> str:
    response = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert response.status == 200
    return response.headers["X-Request-Id"]


async def test_auditors_download_the_trail_as_an_export_that_verifies(
    console: Console, tmp_path: Path
) -> None:
    request_id = await a_call(console)
    await console.client.app[AUDIT_STORE].checkpoint()
    assert (await post_sign_in(console.client, "/console/sign-in", AUDITOR)).status == 303
    page = await (await console.client.get("/console/audit")).text()
    assert 'href="/console/audit/export.jsonl"' in page

    response = await console.client.get("/console/audit/export.jsonl")

    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    exported = tmp_path / "trail.jsonl"
    exported.write_bytes(await response.read())
    snapshot = read_export(exported)
    report = verify_log(snapshot)
    assert report.ok, report.summary()
    ids = [s.entry.event["request_id"] for s in snapshot.entries]
    assert request_id in ids
    trail = await console.api("GET", "/v1/audit/events?kind=admin", AUDITOR)
    actions = [e["event"]["action"] for e in (await trail.json())["events"]]
    assert "audit_export" in actions


async def test_auditors_download_one_requests_inclusion_proof(console: Console) -> None:
    request_id = await a_call(console)
    await console.client.app[AUDIT_STORE].checkpoint()
    assert (await post_sign_in(console.client, "/console/sign-in", AUDITOR)).status == 303
    story = await (await console.client.get(f"/console/audit/requests/{request_id}")).text()
    assert f'href="/console/audit/requests/{request_id}/proof"' in story

    response = await console.client.get(f"/console/audit/requests/{request_id}/proof")

    assert response.status == 200
    assert "attachment;" in response.headers["Content-Disposition"]
    published = await (await console.api("GET", "/v1/audit/checkpoint", AUDITOR)).json()
    key = base64.b64decode(published["public_key"])
    assert "entry 0" in check_proof(json.loads(await response.read()), [key])


async def test_a_proof_not_yet_covered_by_a_checkpoint_is_a_404_page(console: Console) -> None:
    request_id = await a_call(console)
    assert (await post_sign_in(console.client, "/console/sign-in", AUDITOR)).status == 303

    response = await console.client.get(f"/console/audit/requests/{request_id}/proof")

    assert response.status == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "No inclusion proof" in await response.text()


async def test_downloads_are_for_auditors_only(console: Console) -> None:
    request_id = await a_call(console)
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303

    export = await console.client.get("/console/audit/export.jsonl")
    proof = await console.client.get(f"/console/audit/requests/{request_id}/proof")

    assert (export.status, proof.status) == (403, 403)
