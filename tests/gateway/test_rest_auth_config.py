"""REST backends' authentication kinds from gateway.yaml: API key and OAuth 2.0 client
credentials (the mechanics are proven against a real server in
tests/adapters/codegen/openapi/test_runtime.py; here, the config that drives them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import ConfigError
from tests.conftest import INVENTORY, TEST_CONFIG, make_config

STOCK = {"material": "100234", "plant": "1000"}


def _with_auth(auth: str) -> str:
    return TEST_CONFIG.replace(
        "    max_response_bytes: 65536\n", f"    max_response_bytes: 65536\n    {auth}\n", 1
    )


async def test_an_api_key_from_the_environment_rides_on_backend_calls(
    wms: TestServer, tmp_path: Path
) -> None:
    text = _with_auth("auth: {type: api_key, header: X-Api-Key, key: '${WMS_KEY}'}")
    config = make_config(
        str(wms.make_url("/")).rstrip("/"), tmp_path / "a.sqlite", text, WMS_KEY="k-from-env"
    )
    client = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.post(
            "/v1/operations/warehouse.stock.get",
            json=STOCK,
            headers={"Authorization": f"Bearer {INVENTORY}"},
        )
        assert response.status == 200
    finally:
        await client.close()
    async with ClientSession() as http:
        seen = await (await http.get(wms.make_url("/_sandbox/last_headers"))).json()
    assert seen["x-api-key"] == "k-from-env"


def test_client_credentials_are_configured_with_the_secret_from_the_environment(
    tmp_path: Path,
) -> None:
    text = _with_auth(
        "auth: {type: oauth2_client_credentials, token_url: https://idp.example.invalid/token, "
        "client_id: lastmile, client_secret: '${IDP_SECRET}', scope: wms.read}"
    )
    config = make_config("http://127.0.0.1:9", tmp_path / "a.sqlite", text, IDP_SECRET="s3")
    auth = config.backends["acme_wms"].auth
    assert auth is not None
    assert auth.type == "oauth2_client_credentials"
    assert "s3" not in repr(config.backends["acme_wms"])


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ("auth: {type: oauth2_client_credentials, token_url: ftp://x, client_id: a, "
         "client_secret: b}", "backends.acme_wms.auth.token_url"),
        ("auth: {type: api_key, header: 'X Key', key: k}", "backends.acme_wms.auth.header"),
        ("pagination: {max_pages: 0}", "backends.acme_wms.pagination.max_pages"),
    ],
)  # fmt: skip
def test_bad_auth_and_paging_settings_are_reported_where_they_are(
    tmp_path: Path, auth: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_config("http://127.0.0.1:9", tmp_path / "a.sqlite", _with_auth(auth))
    assert any(problem in line for line in raised.value.problems), raised.value.problems
