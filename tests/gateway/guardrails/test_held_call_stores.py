"""Every held-call store keeps one contract: what is held is read back exactly, from any
instance on the same place; a status moves once; an unreachable PostgreSQL is a 503.

The PostgreSQL cases use a fresh database on the machine's server (tests/postgres_db.py);
they skip without one unless ``LASTMILE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config.fleet import PostgresConfig
from gateway.guardrails.approval_store import HeldCall, HeldCallStore, SqliteHeldCallStore
from gateway.guardrails.approval_store_postgres import (
    COMPONENT,
    MIGRATIONS,
    PostgresHeldCallStore,
)
from gateway.postgres import Postgres, migrate
from schemas.errors import ApprovalsUnavailable
from tests.cuttable_proxy import CuttableProxy
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]


def postgres_config(dsn: str) -> PostgresConfig:
    return PostgresConfig.model_validate(
        {"dsn": "${PG_DSN}", "connect_timeout": 2, "pool_max": 4},
        context={"env": {"PG_DSN": dsn}},
    )


class Stores:
    """Opens store instances on one place (a file, or a database), as processes would."""

    def __init__(self, kind: str, place: str) -> None:
        self.kind, self._place = kind, place
        self._opened: list[HeldCallStore] = []
        self._handles: list[Postgres] = []

    async def open(self) -> HeldCallStore:
        store: HeldCallStore
        if self.kind == "sqlite":
            store = SqliteHeldCallStore(Path(self._place))
        else:
            postgres = Postgres(postgres_config(self._place))
            await postgres.open()
            self._handles.append(postgres)
            store = PostgresHeldCallStore(postgres)
        await store.open()
        self._opened.append(store)
        return store

    async def close(self) -> None:
        for store in self._opened:
            await store.close()
        for handle in self._handles:
            await handle.close()


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Where the stores of a test live: a file, or a fresh database (asked for only here,
    so the SQLite cases run without a server)."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "approvals.sqlite")
    return "postgres", str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
async def stores(place: tuple[str, str]) -> AsyncIterator[Stores]:
    opened = Stores(*place)
    yield opened
    await opened.close()


def held_call(number: int, created_at: float = 1_800_000_000.0, **changes: object) -> HeldCall:
    # odd spacing, key order and non-ASCII: the stored text must come back byte for byte
    text = '{"quantity": "150", "material":"100234", "note": "Lieferung für Köln ✓"}'
    held = HeldCall(
        id=f"apr_{number:04d}",
        status="pending",
        created_at=created_at,
        expires_at=created_at + 3600,
        request_id=f"req_{number:04d}",
        agent_id="replenishment-bot",
        on_behalf_of="lea.fischer@acme.example",
        operation="warehouse.goods_movements.create",
        input_json=text,
        input_sha256=hashlib.sha256(text.encode()).hexdigest(),
        policy_ids=["big-needs-approval", "shadow:name-the-user"],
        reasons=["Movements over 100 units need approval."],
    )
    for name, value in changes.items():
        setattr(held, name, value)
    return held


async def test_a_held_call_reads_back_exactly_from_another_instance(stores: Stores) -> None:
    writer, reader = await stores.open(), await stores.open()
    held = held_call(1)

    await writer.add(held)

    assert await reader.get(held.id) == held
    assert await reader.get("apr_missing") is None


async def test_listing_filters_by_status_in_order_of_holding(stores: Stores) -> None:
    store = await stores.open()
    for number, created in ((3, 30.0), (1, 10.0), (2, 20.0)):
        await store.add(held_call(number, created_at=created))
    await store.move("apr_0002", "pending", "rejected", decided_by="maria.schmidt")

    pending = await store.find("pending")
    everything = await store.find(None)

    assert [h.id for h in pending] == ["apr_0001", "apr_0003"]
    assert [h.id for h in everything] == ["apr_0001", "apr_0002", "apr_0003"]
    assert [h.id for h in await store.find(None, limit=2)] == ["apr_0001", "apr_0002"]
    assert await store.find("executed") == []
    assert await store.count_pending() == 2


async def test_a_status_moves_once_and_carries_the_decision_and_outcome(stores: Stores) -> None:
    store, other = await stores.open(), await stores.open()
    await store.add(held_call(1))

    first = await store.move(
        "apr_0001",
        "pending",
        "executing",
        decided_by="maria.schmidt",
        decided_at=1_800_000_100.5,
        decision_reason="PO confirmed",
        execution_request_id="req_exec",
    )
    again = await other.move("apr_0001", "pending", "executing", decided_by="someone.else")
    done = await other.move(
        "apr_0001", "executing", "executed", result={"document": "4900001", "n": 1}, error=None
    )

    assert (first, again, done) == (True, False, True)
    stored = await store.get("apr_0001")
    assert stored is not None
    assert stored.status == "executed"
    assert (stored.decided_by, stored.decided_at) == ("maria.schmidt", 1_800_000_100.5)
    assert stored.decision_reason == "PO confirmed"
    assert stored.execution_request_id == "req_exec"
    assert stored.result == {"document": "4900001", "n": 1}
    assert stored.error is None
    assert await store.count_pending() == 0


async def test_of_concurrent_moves_from_two_instances_exactly_one_wins(stores: Stores) -> None:
    one, two = await stores.open(), await stores.open()
    await one.add(held_call(1))

    moved = await asyncio.gather(
        *(
            store.move("apr_0001", "pending", "executing", decided_by=f"approver{n}")
            for n, store in enumerate([one, two] * 5)
        )
    )

    assert sorted(moved) == [False] * 9 + [True]
    stored = await two.get("apr_0001")
    assert stored is not None
    assert stored.status == "executing"
    assert stored.decided_by == f"approver{moved.index(True)}"


async def test_a_move_never_rewrites_the_input_or_its_hash(stores: Stores) -> None:
    store = await stores.open()
    await store.add(held_call(1))

    with pytest.raises(ValueError, match="input_json"):
        await store.move("apr_0001", "pending", "executing", input_json="{}")

    stored = await store.get("apr_0001")
    assert stored is not None
    assert stored.status == "pending"


async def test_the_postgres_store_fails_closed_while_unreachable_and_recovers(
    postgres_dsn: str,
) -> None:
    proxy = CuttableProxy.before(postgres_dsn)
    await proxy.start()
    postgres = Postgres(postgres_config(proxy.dsn(postgres_dsn)))
    await postgres.open()
    store = PostgresHeldCallStore(postgres)
    try:
        await store.open()
        await store.add(held_call(1))
        proxy.cut()

        attempts = [
            store.add(held_call(2)),
            store.get("apr_0001"),
            store.find("pending"),
            store.move("apr_0001", "pending", "rejected", decided_by="maria.schmidt"),
            store.count_pending(),
        ]
        for attempt in attempts:
            with pytest.raises(ApprovalsUnavailable) as raised:
                await attempt
            assert raised.value.status == 503
            assert raised.value.code == "approvals_unavailable"

        proxy.restore()
        assert [h.id for h in await store.find(None)] == ["apr_0001"]
        assert await store.count_pending() == 1
    finally:
        await postgres.close()
        await proxy.close()


async def test_postgres_stores_opening_together_migrate_once(postgres_dsn: str) -> None:
    stores = Stores("postgres", postgres_dsn)
    try:
        await asyncio.gather(*(stores.open() for _ in range(3)))
        postgres = Postgres(postgres_config(postgres_dsn))
        await postgres.open()
        try:
            ledger = await postgres.pool.fetch(
                "SELECT version FROM lastmile_migrations WHERE component = 'approvals'"
            )
            indexes = await postgres.pool.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'approvals'"
            )
        finally:
            await postgres.close()
        assert [r["version"] for r in ledger] == [1, 2]
        assert {r["indexname"] for r in indexes} >= {"approvals_by_status", "approvals_by_age"}
    finally:
        await stores.close()


PREVIEW = {
    "budgets": [{"budget": "quantity-24h", "used": "0", "amount": "150", "limit": "500"}],
    "backend": "acme_wms",
    "backend_request": {"method": "POST", "path": "/api/v1/goodsmovement", "body": {"ERFMG": "1"}},
    "before": {"quantity": "125.000"},
    "after": {"quantity": "275.000"},
    "note": None,
}  # fmt: skip
OLD_ROW = (
    "apr_old", "pending", 1.0, 3601.0, "req_old", "replenishment-bot", None,
    "warehouse.goods_movements.create", "{}", hashlib.sha256(b"{}").hexdigest(), "[]", "[]",
    None, None, None, None, None, None,
)  # fmt: skip


async def test_what_a_held_call_would_do_reads_back_with_it(stores: Stores) -> None:
    writer, reader = await stores.open(), await stores.open()
    held = held_call(1, preview=PREVIEW)

    await writer.add(held)

    assert await reader.get(held.id) == held
    assert (await reader.find("pending"))[0].preview == PREVIEW


async def test_an_approvals_file_of_an_older_gateway_gains_the_preview_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "approvals.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE approvals (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL "
        "NOT NULL, expires_at REAL NOT NULL, request_id TEXT NOT NULL, agent_id TEXT NOT "
        "NULL, on_behalf_of TEXT, operation TEXT NOT NULL, input_json TEXT NOT NULL, "
        "input_sha256 TEXT NOT NULL, policy_ids TEXT NOT NULL, reasons TEXT NOT NULL, "
        "decided_by TEXT, decided_at REAL, decision_reason TEXT, result_json TEXT, "
        "error_json TEXT, execution_request_id TEXT)"
    )
    old.execute(f"INSERT INTO approvals VALUES ({', '.join('?' * len(OLD_ROW))})", OLD_ROW)  # noqa: S608 - placeholders only
    old.commit()
    old.close()
    stores = Stores("sqlite", str(path))
    try:
        store = await stores.open()
        found = await store.get("apr_old")
        assert found is not None
        assert found.preview is None
        await store.add(held_call(1, preview=PREVIEW))
        assert (await store.get("apr_0001")) == held_call(1, preview=PREVIEW)
    finally:
        await stores.close()


async def test_a_postgres_approvals_table_of_version_1_is_migrated_keeping_its_calls(
    postgres_dsn: str,
) -> None:
    postgres = Postgres(postgres_config(postgres_dsn))
    await postgres.open()
    try:
        await migrate(postgres.pool, COMPONENT, MIGRATIONS[:1])
        jsonb = {11, 12}  # policy_ids, reasons
        places = ", ".join(
            f"${n}::jsonb" if n in jsonb else f"${n}" for n in range(1, len(OLD_ROW) + 1)
        )
        await postgres.pool.execute(f"INSERT INTO approvals VALUES ({places})", *OLD_ROW)  # noqa: S608 - placeholders only
    finally:
        await postgres.close()
    stores = Stores("postgres", postgres_dsn)
    try:
        store = await stores.open()
        found = await store.get("apr_old")
        assert found is not None
        assert found.preview is None
        await store.add(held_call(1, preview=PREVIEW))
        assert (await store.get("apr_0001")) == held_call(1, preview=PREVIEW)
    finally:
        await stores.close()
