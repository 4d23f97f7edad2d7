"""Console sessions over plain HTTP: the cookie's attributes, sign-out and revocation in
the shared store, throttled and audited sign-in, agent keys refused, and the CSP."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie
from pathlib import Path

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from gateway.app import build_app
from tests.conftest import APPROVER, AUDITOR, INVENTORY, OPERATOR, make_config
from tests.console.conftest import Console, post_sign_in


async def sign_in(console: Console, key: str) -> tuple[int, SimpleCookie]:
    response = await post_sign_in(console.client, "/console/sign-in", key)
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        cookie.load(header)
    return response.status, cookie


async def test_sign_in_sets_a_strict_httponly_expiring_cookie(console: Console) -> None:
    status, cookie = await sign_in(console, OPERATOR)

    assert status == 303
    morsel = cookie["lastmile_console"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Strict"
    assert int(morsel["max-age"]) > 0
    assert morsel["path"] == "/console"
    assert not morsel["secure"]  # plain http here; see the https test below


async def test_the_cookie_is_secure_behind_https(wms: TestServer, tmp_path: Path) -> None:
    url = str(wms.make_url("/")).rstrip("/")
    config = make_config(url, tmp_path / "audit.sqlite")
    server = config.server.model_copy(update={"public_url": "https://gateway.example"})
    app = build_app(config.model_copy(update={"server": server}))
    async with TestServer(app, host="127.0.0.1") as gateway, ClientSession() as http:
        response = await post_sign_in(http, gateway.make_url("/console/sign-in"), OPERATOR)
        assert response.status == 303
        assert "Secure" in response.headers["Set-Cookie"]


async def test_signing_out_ends_the_session_everywhere(console: Console) -> None:
    _, cookie = await sign_in(console, OPERATOR)
    token = cookie["lastmile_console"].value
    page = await console.client.get("/console/halts")
    csrf = (await page.text()).split('name="csrf_token" value="')[1].split('"')[0]

    out = await console.client.post(
        "/console/sign-out", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert out.status == 303
    async with ClientSession(cookies={"lastmile_console": token}) as http:
        again = await http.get(console.client.make_url("/console/halts"), allow_redirects=False)
    assert again.status == 303
    assert again.headers["Location"] == "/console/sign-in"


async def test_agent_keys_never_open_the_console(console: Console) -> None:
    status, cookie = await sign_in(console, INVENTORY)

    assert status == 403
    assert "lastmile_console" not in cookie


async def test_sign_in_attempts_are_throttled_and_audited(console: Console) -> None:
    statuses = [(await sign_in(console, "lm_wrong_key"))[0] for _ in range(6)]

    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert (await sign_in(console, APPROVER))[0] == 429  # even the right key, for now
    auditor = "lm_demo_auditor_6fa2c9e815"
    events = await console.api(
        "GET", "/v1/audit/events?kind=admin&operation=admin.console_sign_in", auditor
    )
    details = [e["event"]["detail"] for e in (await events.json())["events"]]
    assert details.count("refused: unauthenticated") == 5
    assert "refused: too many attempts" in details


async def test_pages_carry_a_strict_content_security_policy(console: Console) -> None:
    response = await console.client.get("/console/sign-in")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_a_session_holds_on_every_process_sharing_the_state_store(
    wms: TestServer, tmp_path: Path
) -> None:
    url = str(wms.make_url("/")).rstrip("/")
    config = make_config(url, tmp_path / "audit.sqlite")
    shared = config.state.model_copy(update={"store": "sqlite", "path": str(tmp_path / "s.db")})
    config = config.model_copy(update={"state": shared})
    async with (
        TestServer(build_app(config), host="127.0.0.1") as first,
        TestServer(build_app(config), host="127.0.0.1") as second,
        ClientSession() as http,
    ):
        signed = await post_sign_in(http, first.make_url("/console/sign-in"), OPERATOR)
        assert signed.status == 303
        token = signed.cookies["lastmile_console"].value
        async with ClientSession(cookies={"lastmile_console": token}) as browser:
            elsewhere = await browser.get(second.make_url("/console/halts"))
            assert elsewhere.status == 200
            csrf = (await elsewhere.text()).split('name="csrf_token" value="')[1].split('"')[0]
            out = await browser.post(
                first.make_url("/console/sign-out"),
                data={"csrf_token": csrf},
                allow_redirects=False,
            )
            assert out.status == 303
        async with ClientSession(cookies={"lastmile_console": token}) as stale:
            ended = await stale.get(second.make_url("/console/halts"), allow_redirects=False)
            assert ended.status == 303


async def test_the_live_stream_ends_when_its_session_ends(console: Console) -> None:
    _, cookie = await sign_in(console, OPERATOR)
    token = cookie["lastmile_console"].value
    page = await console.client.get("/console/halts")
    csrf = (await page.text()).split('name="csrf_token" value="')[1].split('"')[0]
    async with ClientSession(cookies={"lastmile_console": token}) as viewer:
        stream = await viewer.get(
            console.client.make_url("/console/now/stream"),
            headers={"Accept": "text/event-stream"},
        )
        assert stream.status == 200
        assert await stream.content.readline() == b": connected\n"

        out = await console.client.post("/console/sign-out", data={"csrf_token": csrf})
        assert out.status == 200  # followed to the sign-in page

        # returns once the server ends the stream; a stream left open fails the test
        rest = await asyncio.wait_for(stream.content.read(), 30)
        assert b"event: call" not in rest


async def test_a_sign_in_without_the_forms_csrf_token_checks_no_key(console: Console) -> None:
    form = await console.client.get("/console/sign-in")
    issued = form.cookies["lastmile_console_sign_in"]
    assert issued["httponly"] is True
    assert issued["samesite"] == "Strict"
    assert issued["path"] == "/console/sign-in"

    forged = await console.client.post(
        "/console/sign-in", data={"key": OPERATOR}, allow_redirects=False
    )
    mismatched = await console.client.post(
        "/console/sign-in",
        data={"key": OPERATOR, "csrf_token": "not-the-token-of-this-form"},
        allow_redirects=False,
    )

    for refused in (forged, mismatched):
        assert refused.status == 403
        assert "lastmile_console" not in refused.cookies
        assert "did not come from the console" in await refused.text()
    halts = await console.client.get("/console/halts", allow_redirects=False)
    assert halts.status == 303  # still signed out
    events = await console.api(
        "GET", "/v1/audit/events?kind=admin&operation=admin.console_sign_in", AUDITOR
    )
    details = [e["event"]["detail"] for e in (await events.json())["events"]]
    assert details.count("refused: no sign-in form token") == 2
