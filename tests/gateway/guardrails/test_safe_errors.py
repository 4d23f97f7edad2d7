"""Safe errors: texts returned to agents never echo secrets, connection strings or
stack traces, whichever stage or adapter wrote them."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from gateway.api.problems import problem_response
from gateway.app import build_app
from gateway.guardrails.safety import scrub
from schemas.errors import BackendError
from tests.conftest import INVENTORY, make_config


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_scrub_removes_credentials_tokens_and_traces() -> None:
    text = (
        "connect to postgresql://app:hunter2@db.internal:5432/erp failed; "
        "url http://svc:s3cr3t@10.0.0.1/api; Authorization: Bearer abcdef123456; "
        "key lm_demo_inventory_4f9c2a7e1b; password=hunter2 token: 'xyz-987'\n"
        'Traceback (most recent call last):\n  File "/srv/app.py", line 3, in f\nKeyError'
    )

    cleaned = scrub(text)

    for secret in ("hunter2", "s3cr3t", "abcdef123456", "4f9c2a7e1b", "xyz-987", "/srv/app.py"):
        assert secret not in cleaned
    assert "postgresql://***@db.internal:5432/erp" in cleaned
    assert "Traceback" not in cleaned


def test_problem_details_are_scrubbed_at_the_boundary() -> None:
    error = BackendError("The backend failed: login to https://admin:pw-12345@erp.local refused")

    body = json.loads(problem_response(error, "req_1", "/x").text or "")

    assert "pw-12345" not in body["detail"]
    assert "https://***@erp.local" in body["detail"]


async def test_a_backend_url_with_credentials_never_reaches_the_agent(tmp_path: Path) -> None:
    url = f"http://lastmile:s3cr3t-pw@127.0.0.1:{closed_port()}"
    app = build_app(make_config(url, tmp_path / "audit.sqlite"))

    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        answer = await client.post(
            "/v1/operations/warehouse.stock.get",
            json={"material": "100234", "plant": "1000"},
            headers={"Authorization": f"Bearer {INVENTORY}"},
        )
        text = await answer.text()
        ready = await (await client.get("/readyz")).text()

    assert answer.status == 503
    assert "s3cr3t-pw" not in text
    assert "s3cr3t-pw" not in ready
    assert "Traceback" not in text
