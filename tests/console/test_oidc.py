"""Staff sign-in through a real OpenID Connect provider (node-oidc-provider on loopback):
authorization code with PKCE, the ID token's subject mapped to a staff member and their
roles; an identity that is no staff member is refused."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect

from gateway.app import build_app
from gateway.config.oidc import ConsoleConfig, ConsoleOidcConfig
from tests.console.conftest import Console
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


@pytest.fixture
async def oidc_console(wms: TestServer, tmp_path: Path) -> AsyncIterator[Console]:
    _require_node()
    port = _free_port()
    callback = f"http://127.0.0.1:{port}/console/sign-in/oidc/callback"
    provider = OidcProvider(
        tmp_path,
        [WebClient("lastmile-console", CLIENT_SECRET, callback)],
        [SigningKey.new("k")],
        dev_interactions=True,
    )
    await provider.start()
    try:
        config = guarded_config(
            str(wms.make_url("/")).rstrip("/"), tmp_path, CONSOLE_SECRET=CLIENT_SECRET
        )
        staff = [
            s.model_copy(update={"oidc_subject": "maria@idp"}) if s.id == "maria.schmidt" else s
            for s in config.staff
        ]
        oidc = ConsoleOidcConfig.model_validate(
            {
                "issuer": provider.issuer,
                "client_id": "lastmile-console",
                "client_secret": "${CONSOLE_SECRET}",
            },
            context={"env": {"CONSOLE_SECRET": CLIENT_SECRET}},
        )
        config = config.model_copy(update={"staff": staff, "console": ConsoleConfig(oidc=oidc)})
        server = TestServer(build_app(config), host="127.0.0.1", port=port)
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        yield Console(client, wms, str(client.make_url("/console")).rstrip("/"))
        await client.close()
    finally:
        await provider.stop()


async def _through_provider(browser: Any, console: Console, login: str) -> Any:
    page = await (await browser.new_context()).new_page()
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
