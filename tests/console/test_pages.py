"""Console pages over plain HTTP: bad input gets a precise error page with the stable
problem code, never a stack trace or a JSON problem meant for programs."""

from __future__ import annotations

from tests.conftest import APPROVER, AUDITOR
from tests.console.conftest import Console, post_sign_in


async def signed(console: Console, key: str) -> None:
    response = await post_sign_in(console.client, "/console/sign-in", key)
    assert response.status == 303


async def test_an_unknown_approval_is_a_404_page(console: Console) -> None:
    await signed(console, APPROVER)

    response = await console.client.get("/console/approvals/apr_nothing_here")

    assert response.status == 404
    assert response.content_type == "text/html"
    assert 'data-code="not_found"' in await response.text()


async def test_a_bad_audit_filter_is_a_422_page(console: Console) -> None:
    await signed(console, AUDITOR)

    response = await console.client.get("/console/audit", params={"since": "yesterday-ish"})

    assert response.status == 422
    text = await response.text()
    assert 'data-code="validation_failed"' in text
    assert "ISO 8601" in text


async def test_a_page_without_a_session_redirects_to_sign_in(console: Console) -> None:
    response = await console.client.get("/console/approvals", allow_redirects=False)

    assert response.status == 303
    assert response.headers["Location"] == "/console/sign-in"
    stream = await console.client.get(
        "/console/now/stream", headers={"Accept": "text/event-stream"}
    )
    assert stream.status == 401
