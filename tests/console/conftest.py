"""The console in a real browser: Playwright driving Debian's Chromium against a guarded
gateway (Cedar policies, approvals) in front of the real ACME warehouse sandbox.

Chromium is launched by path (``/usr/bin/chromium``, installed by ``make install``) with
the flags a root user in a container needs. Without it the browser tests skip, unless
``LASTMILE_REQUIRE_SERVICES=1`` (as in CI), where its absence fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import StaffConfig, StaffRole
from gateway.console.signin import FORM_COOKIE
from gateway.identity import hash_key
from tests.conftest import APPROVER, AUDITOR, OPERATOR
from tests.gateway.guardrails.conftest import guarded_config

CHROMIUM = os.environ.get("LASTMILE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
MULTI = "lm_test_console_multi_5e0c7d1a9b"  # one person, operator and auditor
NOBODY = "lm_test_console_noroles_77aa12"  # a staff member with no role
KEYS = {"approver": APPROVER, "operator": OPERATOR, "auditor": AUDITOR, "both": MULTI}


def _chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing; 'make install' installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (LASTMILE_REQUIRE_SERVICES unset)")
    return CHROMIUM


@dataclass
class Console:
    """The gateway (with its console) and a way to call its API as an agent would."""

    client: TestClient[Any, Any]
    wms: TestServer
    url: str

    async def api(
        self, method: str, path: str, key: str, body: Any = None, **headers: str
    ) -> ClientResponse:
        headers["Authorization"] = f"Bearer {key}"
        return await self.client.request(method, path, json=body, headers=headers)

    async def fault(self, mode: str) -> None:
        async with ClientSession() as http:
            response = await http.post(self.wms.make_url("/_sandbox/faults"), json={"mode": mode})
            assert response.status == 200

    async def wms_calls(self) -> int:
        async with ClientSession() as http:
            response = await http.get(self.wms.make_url("/_sandbox/stats"))
            return int((await response.json())["api_calls"])


@pytest.fixture
async def console(wms: TestServer, tmp_path: Path) -> AsyncIterator[Console]:
    url = str(wms.make_url("/")).rstrip("/")
    config = guarded_config(url, tmp_path)
    staff = [
        *config.staff,
        StaffConfig(
            id="sam.both",
            key_sha256=hash_key(MULTI),
            roles=[StaffRole.OPERATOR, StaffRole.AUDITOR],
        ),
        StaffConfig(id="no.roles", key_sha256=hash_key(NOBODY), roles=[]),
    ]
    config = config.model_copy(update={"staff": staff})
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    yield Console(client, wms, str(client.make_url("/console")).rstrip("/"))
    await client.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = _chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


async def post_sign_in(http: Any, url: Any, key: str) -> ClientResponse:
    """Sign in as a browser does: fetch the form (its CSRF token in a hidden field and a
    cookie), then post the key with both. ``http`` is a TestClient (``url`` a path) or a
    ClientSession (``url`` absolute)."""
    form = await http.get(url)
    token = (await form.text()).split('name="csrf_token" value="')[1].split('"')[0]
    response: ClientResponse = await http.post(
        url,
        data={"key": key, "csrf_token": token},
        cookies={FORM_COOKIE: form.cookies[FORM_COOKIE].value},
        allow_redirects=False,
    )
    return response


async def signed_in(browser: Any, console: Console, role: str) -> Any:
    """A fresh browser page signed in with the key of ``role``."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(console.url + "/sign-in")
    await page.fill("#key", KEYS[role])
    await page.click("button[type=submit]")
    await page.wait_for_selector("#who")
    return page


async def csrf_of(page: Any) -> str:
    token: str = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    return token


async def next_call_row(stream: ClientResponse) -> str:
    """The data (a table row) of the next ``call`` event of a console's live stream."""
    event, data = "", []
    while True:
        line = (await stream.content.readline()).decode()
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "\n" and event == "call":
            return "".join(data)
        elif line == "":
            raise AssertionError("the stream ended")
