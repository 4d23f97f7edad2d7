"""Agents authenticate with bearer keys; config and audit only ever see hashes."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import AgentConfig
from gateway.identity import AgentDirectory, hash_key, new_key
from schemas.errors import Unauthenticated
from tests.conftest import INVENTORY, RETIRED, Gateway

STOCK = {"material": "100234", "plant": "1000"}


@pytest.mark.parametrize(
    ("headers", "detail_part"),
    [
        ({}, "needs an API key"),
        ({"Authorization": "Bearer lm_not_a_real_key"}, "not valid"),
        ({"Authorization": f"Basic {INVENTORY}"}, "Unsupported authorization scheme"),
        ({"Authorization": "Bearer "}, "Unsupported authorization scheme"),
        ({"Authorization": f"Bearer {RETIRED}"}, "revoked"),
    ],
)
async def test_bad_credentials_are_a_401_with_a_challenge(
    gateway: Gateway, headers: dict[str, str], detail_part: str
) -> None:
    response = await gateway.client.post(
        "/v1/operations/warehouse.stock.get", json=STOCK, headers=headers
    )

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.json()
    assert body["code"] == "unauthenticated"
    assert detail_part in body["detail"]
    assert await gateway.wms_calls() == 0


async def test_catalog_requires_a_key(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/operations")
    assert response.status == 401


async def test_keys_never_reach_the_audit_store_or_the_logs(
    gateway: Gateway, log_stream: Any
) -> None:
    await gateway.invoke("warehouse.stock.get", STOCK)
    await gateway.invoke("warehouse.stock.get", STOCK, key=RETIRED)

    stored = b"".join(p.read_bytes() for p in gateway.audit_db.parent.glob("audit.sqlite*"))
    assert INVENTORY.encode() not in stored
    assert RETIRED.encode() not in stored
    assert INVENTORY not in log_stream.getvalue()
    events = await gateway.audit()
    assert [e.agent_id for e in events] == ["inventory-bot", None]


def _agent(key: str, revoked: bool = False, agent_id: str = "bot") -> AgentConfig:
    return AgentConfig(
        id=agent_id, owner="team", key_sha256=hash_key(key), operations=["*"], revoked=revoked
    )


def test_directory_finds_the_agent_among_many() -> None:
    keys = [new_key() for _ in range(5)]
    directory = AgentDirectory.from_config(
        _agent(k, agent_id=f"bot-{i}") for i, k in enumerate(keys)
    )

    assert directory.authenticate(f"Bearer {keys[3]}").id == "bot-3"
    assert directory.authenticate(f"bearer  {keys[0]}").id == "bot-0"


def test_new_keys_are_distinct_and_prefixed() -> None:
    first, second = new_key(), new_key()
    assert first != second
    assert first.startswith("lm_")
    assert len(first) > 40


def test_revoked_key_is_refused_even_though_it_matches() -> None:
    key = new_key()
    directory = AgentDirectory.from_config([_agent(key, revoked=True)])
    with pytest.raises(Unauthenticated, match="revoked"):
        directory.authenticate(f"Bearer {key}")


def test_staff_roles_are_checked_and_staff_keys_call_no_operations() -> None:
    from gateway.config import StaffConfig, StaffRole
    from gateway.identity import StaffDirectory
    from schemas.errors import Forbidden

    approver, auditor = new_key(), new_key()
    staff = StaffDirectory.from_config(
        [
            StaffConfig(id="maria", key_sha256=hash_key(approver), roles=[StaffRole.APPROVER]),
            StaffConfig(id="audit", key_sha256=hash_key(auditor), roles=[StaffRole.AUDITOR]),
        ]
    )
    assert staff.authenticate_role(f"Bearer {approver}", StaffRole.APPROVER).id == "maria"
    with pytest.raises(Forbidden, match="'approver' role"):
        staff.authenticate_role(f"Bearer {auditor}", StaffRole.APPROVER)
    agents = AgentDirectory.from_config([_agent(new_key())])
    with pytest.raises(Unauthenticated):
        agents.authenticate(f"Bearer {approver}")


async def test_a_staff_key_cannot_invoke_operations(gateway: Gateway) -> None:
    response = await gateway.invoke(
        "warehouse.stock.get", STOCK, key=None, Authorization="Bearer lm_demo_approver_5c1e8a2f90"
    )
    assert response.status == 401
