"""Console sign-in throttling in the shared state store: per client address (behind a
trusted proxy, the address X-Forwarded-For names) and per presented key, whatever the
address; time moves by an injected clock, never by sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import BaseTestServer, TestServer

from gateway.app import build_app
from gateway.config import Config
from gateway.config.server import ServerConfig
from gateway.console.signin import FORM_COOKIE
from tests.conftest import APPROVER, AUDITOR, INVENTORY, make_config

WRONG = "lm_wrong_key_0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def _config(url: str, tmp_path: Path, proxies: list[str], shared: bool = False) -> Config:
    config = make_config(url, tmp_path / "audit.sqlite")
    trusted = ServerConfig.model_validate({"trusted_proxies": proxies}).trusted_proxies
    server = config.server.model_copy(update={"trusted_proxies": trusted})
    config = config.model_copy(update={"server": server})
    if shared:
        state = config.state.model_copy(update={"store": "sqlite", "path": str(tmp_path / "s.db")})
        config = config.model_copy(update={"state": state})
    return config


async def attempt(http: ClientSession, server: BaseTestServer, key: str, client: str = "") -> int:
    """One sign-in as a browser would (form, then post), from ``client`` as named in
    X-Forwarded-For (none when empty); the answer's status."""
    headers = {"X-Forwarded-For": client} if client else {}
    url = server.make_url("/console/sign-in")
    form = await http.get(url, headers=headers)
    token = (await form.text()).split('name="csrf_token" value="')[1].split('"')[0]
    response = await http.post(
        url,
        data={"key": key, "csrf_token": token},
        cookies={FORM_COOKIE: form.cookies[FORM_COOKIE].value},
        headers=headers,
        allow_redirects=False,
    )
    return response.status


async def sign_in_audit(http: ClientSession, server: BaseTestServer) -> list[tuple[str, str]]:
    response = await http.get(
        server.make_url("/v1/audit/events?kind=admin&operation=admin.console_sign_in&limit=500"),
        headers={"Authorization": f"Bearer {AUDITOR}"},
    )
    assert response.status == 200, await response.text()
    return [(e["event"]["target"], e["event"]["detail"]) for e in (await response.json())["events"]]


@pytest.fixture
async def behind_proxy(
    wms: TestServer, tmp_path: Path
) -> AsyncIterator[tuple[BaseTestServer, Clock]]:
    """A gateway that trusts the loopback address (the tests' client) as its proxy."""
    clock = Clock()
    config = _config(str(wms.make_url("/")).rstrip("/"), tmp_path, ["127.0.0.0/8"])
    async with TestServer(build_app(config, clock=clock), host="127.0.0.1") as server:
        yield server, clock


async def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(
    behind_proxy: tuple[BaseTestServer, Clock],
) -> None:
    server, _ = behind_proxy
    async with ClientSession() as http:
        first = [await attempt(http, server, f"{WRONG}{i}", "203.0.113.7") for i in range(6)]
        other = await attempt(http, server, APPROVER, "198.51.100.9, 127.0.0.1")
        audit = await sign_in_audit(http, server)

    assert first == [401] * 5 + [429]
    assert other == 303  # another client behind the same proxy is not slowed
    assert ("console from 203.0.113.7", "refused: too many attempts") in audit
    assert ("console from 198.51.100.9", "signed in") in audit


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    wms: TestServer, tmp_path: Path
) -> None:
    config = _config(str(wms.make_url("/")).rstrip("/"), tmp_path, ["10.0.0.0/8"])
    async with TestServer(build_app(config), host="127.0.0.1") as server, ClientSession() as http:
        statuses = [await attempt(http, server, f"{WRONG}{i}", f"203.0.113.{i}") for i in range(6)]
        audit = await sign_in_audit(http, server)

    assert statuses == [401] * 5 + [429]  # rotating the header does not help
    assert {target for target, _ in audit} == {"console from 127.0.0.1"}


async def test_failures_with_one_key_are_slowed_from_every_address_until_time_passes(
    behind_proxy: tuple[BaseTestServer, Clock],
) -> None:
    server, clock = behind_proxy
    async with ClientSession() as http:
        rotating = [await attempt(http, server, INVENTORY, f"192.0.2.{i}") for i in range(6)]
        other_key = await attempt(http, server, WRONG, "192.0.2.100")
        clock.now += 60
        later = await attempt(http, server, INVENTORY, "192.0.2.101")
        audit = await sign_in_audit(http, server)

    assert rotating == [403] * 5 + [429]  # an agent key, from six addresses
    assert other_key == 401  # other credentials are not slowed by it
    assert later == 403  # a minute later it is checked again
    assert ("console from 192.0.2.5", "refused: too many failures with this key") in audit
    assert not any(INVENTORY in target or INVENTORY in detail for target, detail in audit)


async def test_a_correct_key_is_not_slowed_by_failures_of_other_keys(
    behind_proxy: tuple[BaseTestServer, Clock],
) -> None:
    server, _ = behind_proxy
    async with ClientSession() as http:
        for i in range(20):
            assert await attempt(http, server, f"{WRONG}{i}", f"192.0.2.{i}") == 401
        assert await attempt(http, server, APPROVER, "192.0.2.200") == 303


async def test_the_counts_hold_across_processes_sharing_the_state_store(
    wms: TestServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = _config(str(wms.make_url("/")).rstrip("/"), tmp_path, [], shared=True)
    async with (
        TestServer(build_app(config, clock=clock), host="127.0.0.1") as first,
        TestServer(build_app(config, clock=clock), host="127.0.0.1") as second,
        ClientSession() as http,
    ):
        statuses: list[Any] = []
        for i in range(6):
            statuses.append(await attempt(http, (first, second)[i % 2], f"{WRONG}{i}"))
        clock.now += 60
        again = await attempt(http, second, APPROVER)

    assert statuses == [401] * 5 + [429]
    assert again == 303


async def test_a_forwarded_entry_that_is_no_address_counts_as_the_proxy_that_wrote_it(
    behind_proxy: tuple[BaseTestServer, Clock],
) -> None:
    server, _ = behind_proxy
    async with ClientSession() as http:
        await attempt(http, server, WRONG, "<script>, 127.0.0.2")
        await attempt(http, server, WRONG, "127.0.0.3, 127.0.0.4")
        audit = await sign_in_audit(http, server)

    assert ("console from 127.0.0.2", "refused: unauthenticated") in audit
    assert ("console from 127.0.0.3", "refused: unauthenticated") in audit  # all trusted
