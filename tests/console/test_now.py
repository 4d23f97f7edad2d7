"""The "Now" page's counts and error rates per agent, owner and backend over the last
five minutes, hour and day: read from the shared audit trail, bounded."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from gateway.appkeys import AUDIT_STORE
from gateway.console.tallies import tally
from tests.conftest import INVENTORY, OPERATOR, REPLENISH
from tests.console.conftest import Console, post_sign_in

STOCK = {"material": "100234", "plant": "1000"}


def counts(html: str, dimension: str, name: str) -> list[str]:
    """The cells of one row of a tally table: calls, errors (rate) for each window."""
    table = html.split(f'id="tallies-{dimension}"')[1].split("</table>")[0]
    row = table.split(f'data-name="{name}"')[1].split("</tr>")[0]
    return re.findall(r"<td[^>]*>([^<]*)</td>", row)


async def calls(console: Console) -> int:
    """Two answered calls and one failed one of inventory-bot, one of replenishment-bot,
    and one of inventory-bot two hours ago (appended to the trail as another process
    would have); returns the failed call's status."""
    for key in (INVENTORY, INVENTORY, REPLENISH):
        assert (await console.api("POST", "/v1/operations/warehouse.stock.get", key, STOCK)).ok
    await console.fault("error")
    failed = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    await console.fault("ok")
    store = console.client.app[AUDIT_STORE]
    latest = (await store.query(agent_id="inventory-bot", limit=1))[0]
    earlier = datetime.now(UTC) - timedelta(hours=2)
    await store.append(
        latest.model_copy(update={"event_id": uuid.uuid4().hex, "time": earlier, "status": 200})
    )
    return failed.status


async def test_now_counts_calls_and_errors_per_agent_and_backend_per_window(
    console: Console,
) -> None:
    assert await calls(console) >= 500
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303

    html = await (await console.client.get("/console/now")).text()

    # 5 min: 3 calls, 1 error; 1 hour: the same; 1 day: the call two hours ago as well
    assert counts(html, "agent", "inventory-bot") == [
        "3", "1 (33%)", "3", "1 (33%)", "4", "1 (25%)",
    ]  # fmt: skip
    assert counts(html, "agent", "replenishment-bot") == ["1", "0 (0%)"] * 3
    assert counts(html, "backend", "acme_wms") == [
        "4", "1 (25%)", "4", "1 (25%)", "5", "1 (20%)",
    ]  # fmt: skip
    assert "counts cover calls since" not in html


async def test_the_tally_reads_at_most_its_bound_and_says_from_when_it_is_complete(
    console: Console,
) -> None:
    await calls(console)
    now = datetime.now(UTC)

    bounded = await tally(console.client.app[AUDIT_STORE], now, max_events=2)
    whole = await tally(console.client.app[AUDIT_STORE], now)

    assert sum(c[2].calls for c in bounded.table["agent"].values()) == 2
    assert bounded.complete_since is not None
    assert bounded.complete_since <= now
    assert sum(c[2].calls for c in whole.table["agent"].values()) == 5
    assert whole.complete_since is None


async def test_a_gateway_running_alone_shows_its_own_breakers_and_bulkheads(
    console: Console,
) -> None:
    """From its own memory (a fleet's processes report theirs: tests/fleet/test_console.py)."""
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303

    html = await (await console.client.get("/console/now")).text()

    assert "Backends (this process)" in html
    backends = html.split('id="backends"')[1].split("</table>")[0]
    row = backends.split('data-backend="acme_wms"')[1].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>([^<]*)</td>", row) == ["acme_wms", "closed", "0", "0"]
    assert "data-process" not in backends
