"""Staff sign-in through a real OpenID Connect provider (node-oidc-provider on loopback):
authorization code with PKCE, the ID token's subject mapped to a staff member and their
roles, and its groups claim mapped to roles by console.oidc.role_map; an identity that
is no staff member and whose groups map to no role is refused."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect

from gateway.app import build_app
from gateway.config.oidc import ConsoleConfig, ConsoleOidcConfig
from gateway.config.server import ServerConfig
from tests.conftest import AUDITOR
from tests.console.conftest import Console
from tests.console.test_browser import hold
from tests.gateway.guardrails.conftest import guarded_config
from tests.oidc.provider import Client, OidcProvider, SigningKey, _require_node

CLIENT_SECRET = "console-client-secret-0123456789abcdef"


@dataclass(frozen=True)
class WebClient(Client):
    """The console as a confidential web client (authorization code, PKCE)."""

    redirect_uri: str = ""

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_types": ["authorization_code"],
            "redirect_uris": [self.redirect_uri],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


ACCOUNTS: dict[str, dict[str, Any]] = {
    "maria@idp": {"groups": ["lm-operators", "all-staff"], "email": "maria.schmidt@acme.example"},
    "ana@idp": {
        "groups": ["lm-approvers", "all-staff"],
        "email": "ana.costa@acme.example",
        "name": "Ana Costa",
    },
    "otto@idp": {"groups": ["all-staff", "lm-unknown"], "email": "otto@acme.example"},
    "rita@idp": {"groups": ["lm-approvers"], "email": "rita@acme.example"},
    "sam@idp": {"groups": "lm-approvers"},  # one string, not a list
}
ROLE_MAP = {"lm-approvers": ["approver"], "lm-operators": ["operator"]}


@dataclass
class Provided:
    """The console signing in through the provider, and the provider's issuer."""

    console: Console
    issuer: str

    def person(self, login: str) -> str:
        """The console id of someone known only through the provider."""
        return f"oidc:{self.issuer.removeprefix('http://')}:{login}"


async def _start(
    wms: TestServer, tmp_path: Path, roles: dict[str, Any], proxies: list[str] | None = None
) -> AsyncIterator[Provided]:
    _require_node()
    port = _free_port()
    callback = f"http://127.0.0.1:{port}/console/sign-in/oidc/callback"
    provider = OidcProvider(
        tmp_path,
        [WebClient("lastmile-console", CLIENT_SECRET, callback)],
        [SigningKey.new("k")],
        dev_interactions=True,
        accounts=ACCOUNTS,
    )
    await provider.start()
    try:
        config = guarded_config(
            str(wms.make_url("/")).rstrip("/"), tmp_path, CONSOLE_SECRET=CLIENT_SECRET
        )
        subjects = {"maria.schmidt": "maria@idp", "ops-oncall": "rita@idp"}
        staff = [
            s.model_copy(update={"oidc_subject": subjects[s.id], "revoked": s.id == "ops-oncall"})
            if s.id in subjects
            else s
            for s in config.staff
        ]
        oidc = ConsoleOidcConfig.model_validate(
            {
                "issuer": provider.issuer,
                "client_id": "lastmile-console",
                "client_secret": "${CONSOLE_SECRET}",
                **roles,
            },
            context={"env": {"CONSOLE_SECRET": CLIENT_SECRET}},
        )
        config = config.model_copy(update={"staff": staff, "console": ConsoleConfig(oidc=oidc)})
        if proxies is not None:
            trusted = ServerConfig.model_validate({"trusted_proxies": proxies}).trusted_proxies
            server_config = config.server.model_copy(update={"trusted_proxies": trusted})
            config = config.model_copy(update={"server": server_config})
        # behind the proxy, time stands still for the gateway's limits (the state store's
        # clock), so the throttling test counts attempts, not how long the browser took
        started = time.time()
        clock = (lambda: started) if proxies is not None else None
        server = TestServer(build_app(config, clock=clock), host="127.0.0.1", port=port)
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        console = Console(client, wms, str(client.make_url("/console")).rstrip("/"))
        yield Provided(console, provider.issuer)
        await client.close()
    finally:
        await provider.stop()


@pytest.fixture
async def oidc_console(wms: TestServer, tmp_path: Path) -> AsyncIterator[Console]:
    """Roles from staff: only (no roles_claim)."""
    async for provided in _start(wms, tmp_path, {}):
        yield provided.console


@pytest.fixture
async def groups_console(wms: TestServer, tmp_path: Path) -> AsyncIterator[Provided]:
    """Roles also from the ID token's groups claim, through role_map."""
    async for provided in _start(wms, tmp_path, {"roles_claim": "groups", "role_map": ROLE_MAP}):
        yield provided


@pytest.fixture
async def proxied_console(wms: TestServer, tmp_path: Path) -> AsyncIterator[Provided]:
    """As groups_console, behind a trusted proxy on loopback (X-Forwarded-For believed)."""
    roles = {"roles_claim": "groups", "role_map": ROLE_MAP}
    async for provided in _start(wms, tmp_path, roles, ["127.0.0.0/8"]):
        yield provided


async def _through_provider(
    browser: Any, console: Console, login: str, client: str | None = None
) -> Any:
    headers = {"X-Forwarded-For": client} if client else {}
    page = await (await browser.new_context(extra_http_headers=headers)).new_page()
    await page.goto(console.url + "/sign-in")
    await page.click("#oidc")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any")
    await page.click("button[type=submit]")
    consent = page.get_by_role("button", name="Continue")
    if await consent.count():
        await consent.click()
    return page


async def test_a_staff_member_signs_in_through_the_identity_provider(
    browser: Any, oidc_console: Console
) -> None:
    page = await _through_provider(browser, oidc_console, "maria@idp")

    await expect(page.locator("#who")).to_contain_text("maria.schmidt (approver)")
    await expect(page.locator("header nav")).to_contain_text("Approvals")


async def test_an_identity_that_is_no_staff_member_is_refused(
    browser: Any, oidc_console: Console
) -> None:
    page = await _through_provider(browser, oidc_console, "stranger@idp")

    await expect(page.locator("#problem")).to_have_attribute("data-code", "forbidden")
    await expect(page.locator("#who")).to_have_count(0)


async def test_a_person_known_only_through_their_groups_gets_the_mapped_roles(
    browser: Any, groups_console: Provided
) -> None:
    page = await _through_provider(browser, groups_console.console, "ana@idp")

    who = f"{groups_console.person('ana@idp')} (approver)"
    await expect(page.locator("#who")).to_have_text(who)
    await expect(page.locator("header nav")).to_contain_text("Approvals")
    await page.goto(groups_console.console.url + "/halts")
    await expect(page.locator("#problem")).to_have_attribute("data-code", "forbidden")


async def test_one_string_in_the_roles_claim_counts_as_one_value(
    browser: Any, groups_console: Provided
) -> None:
    page = await _through_provider(browser, groups_console.console, "sam@idp")

    await expect(page.locator("#who")).to_have_text(
        f"{groups_console.person('sam@idp')} (approver)"
    )


async def test_a_staff_entry_and_the_groups_claim_give_the_union_of_their_roles(
    browser: Any, groups_console: Provided
) -> None:
    page = await _through_provider(browser, groups_console.console, "maria@idp")

    await expect(page.locator("#who")).to_have_text("maria.schmidt (approver, operator)")


async def test_groups_that_map_to_no_role_get_a_clear_refusal(
    browser: Any, groups_console: Provided
) -> None:
    page = await _through_provider(browser, groups_console.console, "otto@idp")

    problem = page.locator("#problem")
    await expect(problem).to_have_attribute("data-code", "forbidden")
    await expect(problem).to_contain_text("no value of its 'groups' claim is in")
    await expect(page.locator("#who")).to_have_count(0)


async def test_a_revoked_staff_entry_is_refused_whatever_the_groups_say(
    browser: Any, groups_console: Provided
) -> None:
    page = await _through_provider(browser, groups_console.console, "rita@idp")

    await expect(page.locator("#problem")).to_contain_text("'ops-oncall' is revoked")
    await expect(page.locator("#who")).to_have_count(0)


async def test_a_person_from_the_groups_claim_cannot_approve_their_own_call_and_is_audited(
    browser: Any, groups_console: Provided
) -> None:
    console = groups_console.console
    own = await hold(console, on_behalf_of="ana.costa@acme.example")
    other = await hold(console, on_behalf_of="lea.fischer@acme.example")
    page = await _through_provider(browser, console, "ana@idp")
    await expect(page.locator("#who")).to_be_visible()  # landed: the meta refresh is done

    await page.goto(console.url + f"/approvals/{own}")
    await page.get_by_label("Comment (required)").fill("looks fine")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.locator("#problem")).to_have_attribute("data-code", "self_approval")

    await page.goto(console.url + f"/approvals/{other}")
    await page.get_by_label("Comment (required)").fill("checked with Lea")
    await page.get_by_role("button", name="Reject").click()
    await expect(page.locator("#decided-by")).to_have_text(groups_console.person("ana@idp"))
    events = await console.api("GET", "/v1/audit/events?kind=admin&operation=admin.reject", AUDITOR)
    actors = [e["event"]["actor"] for e in (await events.json())["events"]]
    assert actors == [groups_console.person("ana@idp")]


async def test_refusals_of_one_identity_are_slowed_from_every_address(
    browser: Any, proxied_console: Provided
) -> None:
    console = proxied_console.console
    for i in range(5):
        page = await _through_provider(browser, console, "otto@idp", f"192.0.2.{i}")
        await expect(page.locator("#problem")).to_have_attribute("data-code", "forbidden")

    page = await _through_provider(browser, console, "otto@idp", "192.0.2.50")
    await expect(page.locator("#problem")).to_have_attribute("data-code", "rate_limited")
    other = await _through_provider(browser, console, "ana@idp", "192.0.2.51")
    await expect(other.locator("#who")).to_contain_text("(approver)")
    events = await console.api(
        "GET", "/v1/audit/events?kind=admin&operation=admin.console_sign_in", AUDITOR
    )
    audit = [(e["event"]["target"], e["event"]["detail"]) for e in (await events.json())["events"]]
    assert ("console from 192.0.2.50", "refused: too many failures with this identity") in audit
