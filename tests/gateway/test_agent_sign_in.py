"""Agents sign in with access tokens from a real OpenID Connect provider on loopback.

The provider (node-oidc-provider, ``tests/oidc``) issues client_credentials tokens to
workload identities; the gateway maps each token's ``sub`` to an agent, verifies it with
the provider's published keys, and refuses every kind of bad token with its own code,
never repeating the token in an answer or a log line.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.config import ConfigError, parse_config
from tests.conftest import INVENTORY, TEST_CONFIG, make_config
from tests.oidc.provider import OTHER_RESOURCE, RESOURCE, OidcProvider, SigningKey

STOCK = "warehouse.stock.get"
STOCK_INPUT = {"material": "100234", "plant": "1000"}
ACCEPT = "application/json, text/event-stream"
MIN_REFRESH_S = 60
MAX_AGE_S = 120


def config_text(issuer: str) -> str:
    agents = """agents:
  - id: token-bot
    owner: team-logistics
    token_subject: inventory-workload
    operations: ["warehouse.stock.*"]
  - id: retired-token-bot
    owner: team-logistics
    token_subject: retired-workload
    operations: ["warehouse.stock.*"]
    revoked: true
"""
    oidc = f"""
oidc:
  issuer: {issuer}
  audience: ["{RESOURCE}"]
  scopes: [lastmile.call]
  jwks_min_refresh_s: {MIN_REFRESH_S}
  jwks_max_age_s: {MAX_AGE_S}
"""
    return TEST_CONFIG.replace("agents:\n", agents, 1) + oidc


class MovableClock:
    """Wall time plus a shift the test moves: expiry and key refetching without waiting."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


@dataclass
class SignIn:
    client: TestClient[Any, Any]
    provider: OidcProvider
    clock: MovableClock
    log: io.StringIO

    async def invoke(self, token: str) -> ClientResponse:
        return await self.client.post(
            f"/v1/operations/{STOCK}",
            json=STOCK_INPUT,
            headers={"Authorization": f"Bearer {token}"},
        )

    async def mcp_call(self, token: str) -> ClientResponse:
        version = "2026-07-28"
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": STOCK,
                "arguments": STOCK_INPUT,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": version,
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": ACCEPT,
            "MCP-Protocol-Version": version,
            "Mcp-Method": "tools/call",
            "Mcp-Name": STOCK,
        }
        return await self.client.post("/mcp", json=body, headers=headers)

    async def refused(self, response: ClientResponse, token: str, code: str) -> None:
        """401 (or 403) with ``code``, and the token nowhere in the answer or the log."""
        text = await response.text()
        assert response.status == (403 if code == "insufficient_scope" else 401), text
        assert (await response.json())["code"] == code
        signature = token.rsplit(".", 1)[1]
        for place in (text, str(response.headers), self.log.getvalue()):
            assert token not in place
            assert signature not in place


@pytest.fixture
async def sign_in(
    oidc_provider: OidcProvider, wms: TestServer, tmp_path: Path, log_stream: io.StringIO
) -> AsyncIterator[SignIn]:
    wms_url = str(wms.make_url("/")).rstrip("/")
    config = make_config(wms_url, tmp_path / "audit.sqlite", config_text(oidc_provider.issuer))
    clock = MovableClock()
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(config, clock=clock), host="127.0.0.1")
    )
    await client.start_server()
    yield SignIn(client, oidc_provider, clock, log_stream)
    await client.close()


async def test_a_token_from_the_provider_signs_the_mapped_agent_in(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("inventory-workload")
    rest = await sign_in.invoke(token)
    assert rest.status == 200, await rest.text()
    mcp = await sign_in.mcp_call(token)
    assert mcp.status == 200
    result = (await mcp.json())["result"]
    assert result["isError"] is False, result
    events = await sign_in.client.app[AUDIT_STORE].query()
    assert [(e.agent_id, e.protocol, e.status) for e in events] == [
        ("token-bot", "rest", 200),
        ("token-bot", "mcp", 200),
    ]
    assert token not in sign_in.log.getvalue()
    catalog = await sign_in.client.get(
        "/v1/operations", headers={"Authorization": f"Bearer {token}"}
    )
    assert (await catalog.json())["agent"] == "token-bot"


async def test_static_keys_still_work_beside_tokens(sign_in: SignIn) -> None:
    response = await sign_in.invoke(INVENTORY)
    assert response.status == 200


async def test_an_expired_token_is_refused(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("inventory-workload")
    assert (await sign_in.invoke(token)).status == 200
    sign_in.clock.shift = 300 + 30 + 1  # the provider's lifetime, our leeway, and a second
    await sign_in.refused(await sign_in.invoke(token), token, "token_expired")
    [_, refused] = await sign_in.client.app[AUDIT_STORE].query()
    assert (refused.agent_id, refused.outcome) == (None, "token_expired")


async def test_a_token_for_another_service_is_refused(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("inventory-workload", resource=OTHER_RESOURCE)
    await sign_in.refused(await sign_in.invoke(token), token, "token_audience_mismatch")
    await sign_in.refused(await sign_in.mcp_call(token), token, "token_audience_mismatch")


async def test_a_token_signed_by_another_key_is_refused(sign_in: SignIn) -> None:
    genuine = await sign_in.provider.token("inventory-workload")
    claims = _claims(genuine)
    impostor = SigningKey.new("key-1")  # the provider's key id, not its key
    same_kid = impostor.sign(claims)
    await sign_in.refused(await sign_in.invoke(same_kid), same_kid, "token_signature_invalid")
    unknown_kid = impostor.sign(claims, kid="key-unknown")
    await sign_in.refused(await sign_in.invoke(unknown_kid), unknown_kid, "token_signature_invalid")
    tampered = _with_claims(genuine, {**claims, "sub": "inventory-workload", "scope": "all"})
    await sign_in.refused(await sign_in.invoke(tampered), tampered, "token_signature_invalid")


async def test_a_subject_no_agent_is_mapped_to_is_refused(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("stranger-workload")
    await sign_in.refused(await sign_in.invoke(token), token, "token_subject_unknown")
    await sign_in.refused(await sign_in.mcp_call(token), token, "token_subject_unknown")


async def test_disabling_the_agent_in_config_refuses_its_tokens(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("retired-workload")
    await sign_in.refused(await sign_in.invoke(token), token, "unauthenticated")


async def test_a_token_without_the_required_scope_is_refused(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("inventory-workload", scope=None)
    await sign_in.refused(await sign_in.invoke(token), token, "insufficient_scope")


async def test_a_rotated_key_is_fetched_at_most_once_per_refresh_interval(
    sign_in: SignIn,
) -> None:
    old = sign_in.provider.keys[0]
    assert (await sign_in.invoke(await sign_in.provider.token("inventory-workload"))).status == 200
    await sign_in.provider.restart([SigningKey.new("key-2"), old])  # key-2 signs from now on
    rotated = await sign_in.provider.token("inventory-workload")
    assert _header_kid(rotated) == "key-2"
    # the keys were fetched moments ago: an unknown kid does not trigger another fetch yet
    await sign_in.refused(await sign_in.invoke(rotated), rotated, "token_signature_invalid")
    sign_in.clock.shift = MIN_REFRESH_S
    assert (await sign_in.invoke(rotated)).status == 200


async def test_a_withdrawn_key_stops_opening_the_gateway_once_keys_are_refetched(
    sign_in: SignIn,
) -> None:
    """Verified tokens are cached, but not past a refetch that drops their key."""
    token = await sign_in.provider.token("inventory-workload")
    assert (await sign_in.invoke(token)).status == 200
    assert (await sign_in.invoke(token)).status == 200  # the second from the cache
    await sign_in.provider.restart([SigningKey.new("key-2")])  # key-1 is withdrawn
    assert (await sign_in.invoke(token)).status == 200  # still within jwks_max_age_s
    sign_in.clock.shift = MAX_AGE_S  # the token itself lives 300 s
    await sign_in.refused(await sign_in.invoke(token), token, "token_signature_invalid")


async def test_an_unreachable_provider_is_503_not_a_refusal(sign_in: SignIn) -> None:
    token = await sign_in.provider.token("inventory-workload")
    await sign_in.provider.stop()
    response = await sign_in.invoke(token)
    assert response.status == 503
    assert (await response.json())["code"] == "identity_provider_unavailable"
    assert token not in await response.text()


async def test_refusals_point_to_the_protected_resource_metadata(sign_in: SignIn) -> None:
    base = str(sign_in.client.make_url("")).rstrip("/")
    mcp = await sign_in.client.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Accept": ACCEPT}
    )
    assert mcp.status == 401
    challenge = mcp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge
    rest = await sign_in.invoke("not-a-key")
    assert (
        f'resource_metadata="{base}/.well-known/oauth-protected-resource"'
        in (rest.headers["WWW-Authenticate"])
    )
    expired = await sign_in.provider.token("inventory-workload", resource=OTHER_RESOURCE)
    bad = await sign_in.invoke(expired)
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]

    for path in (
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ):
        metadata = await sign_in.client.get(path)
        assert metadata.status == 200
        document = await metadata.json()
        assert document == {
            "resource": base + path.removeprefix("/.well-known/oauth-protected-resource"),
            "authorization_servers": [sign_in.provider.issuer],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
            "scopes_supported": ["lastmile.call"],
        }


async def test_staff_routes_do_not_point_agents_to_the_provider(sign_in: SignIn) -> None:
    response = await sign_in.client.get("/v1/approvals")
    assert response.status == 401
    assert "resource_metadata" not in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("fragment", "error"),
    [
        ("  - id: keyless\n    owner: x\n    operations: ['*']\n", "key_sha256, token_subject"),
        (
            "  - id: orphan\n    owner: x\n    token_subject: s\n    operations: ['*']\n",
            "no oidc: section",
        ),
    ],
    ids=["neither-key-nor-subject", "subject-without-provider"],
)
def test_config_says_how_each_agent_signs_in(tmp_path: Path, fragment: str, error: str) -> None:
    text = TEST_CONFIG.replace("agents:\n", "agents:\n" + fragment, 1)
    with pytest.raises(ConfigError) as raised:
        make_config("http://127.0.0.1:1", tmp_path / "a.sqlite", text)
    assert error in str(raised.value)


def test_a_provider_reached_without_tls_must_be_on_this_machine(tmp_path: Path) -> None:
    text = TEST_CONFIG + "oidc:\n  issuer: http://idp.example.com\n  audience: [x]\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "t.yaml", env={"WMS_URL": "http://x", "AUDIT_DB": "a"})
    assert "https" in str(raised.value)


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _header_kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _with_claims(token: str, claims: dict[str, Any]) -> str:
    """The genuine header and signature around other claims."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"
