"""A real OpenID Connect provider on a free loopback port, for sign-in tests.

``provider.mjs`` runs node-oidc-provider (pinned in ``package.json``, installed by ``make
test`` with ``npm ci``) from a JSON config this module writes: signing keys, clients,
resource servers. The fixture starts it, waits until its discovery document answers
(polling with a deadline), and stops it at the end. Agents' workload identities are
``client_credentials`` clients; their tokens are JWT access tokens (RFC 9068) whose
``sub`` is the client id. :meth:`OidcProvider.restart` brings it back on the same port
with other keys, as a key rotation at a real provider would.

Registered as a pytest plugin by ``tests/conftest.py``; the web console's staff sign-in
uses the same provider (clients with ``authorization_code`` and redirect URIs).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import ClientError, ClientSession
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = Path(__file__).parent
SCRIPT = HERE / "provider.mjs"
READY_DEADLINE_S = 30.0

RESOURCE = "urn:lastmile:test"
"""The audience of tokens issued for the gateway under test (the default resource)."""
OTHER_RESOURCE = "urn:other:api"
"""Another service's audience: its tokens must not open the gateway."""
SCOPE = "lastmile.call"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def private_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        """A token as the provider would make it, but signed by this key."""
        headers = {"typ": "at+jwt", "kid": kid or self.kid}
        return jwt.encode(claims, self.private, algorithm="RS256", headers=headers)


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "grant_types": ["client_credentials"],
            "redirect_uris": [],
            "response_types": [],
        }


def _require_node() -> None:
    if (HERE / "node_modules" / "oidc-provider").exists() and shutil.which("node"):
        return
    reason = "the test OpenID Connect provider is not installed (run `make test`: npm ci)"
    if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


class OidcProvider:
    """One node-oidc-provider process, its config, and a client for its token endpoint."""

    def __init__(
        self,
        workdir: Path,
        clients: list[Client],
        keys: list[SigningKey],
        *,
        dev_interactions: bool = False,
        accounts: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """``dev_interactions``: the provider's built-in login and consent pages (any
        login name signs in as that subject), for browser sign-in tests. ``accounts``:
        {login name: claims} put in that person's ID token (groups, email, name)."""
        self.clients = {c.client_id: c for c in clients}
        self._accounts = accounts
        self._dev_interactions = dev_interactions
        self.keys = keys
        self.issuer = ""
        self._workdir = workdir
        self._port = 0
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        config = {
            "port": self._port,
            "jwks": {"keys": [key.private_jwk() for key in self.keys]},
            "clients": [c.registration() for c in self.clients.values()],
            "resources": {RESOURCE: {"scope": SCOPE}, OTHER_RESOURCE: {"scope": SCOPE}},
            "default_resource": RESOURCE,
            "dev_interactions": self._dev_interactions,
        }
        if self._accounts is not None:
            config["accounts"] = self._accounts
        path = self._workdir / "oidc-provider.json"
        path.write_text(json.dumps(config))
        self._process = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            str(path),
            cwd=HERE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), READY_DEADLINE_S)
        assert line, "the OpenID Connect provider exited before listening"
        self.issuer = json.loads(line)["issuer"]
        self._port = int(self.issuer.rsplit(":", 1)[1])
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        """Poll the discovery document until it answers, within a deadline."""
        url = f"{self.issuer}/.well-known/openid-configuration"
        deadline = asyncio.get_running_loop().time() + READY_DEADLINE_S
        async with ClientSession() as http:
            while True:
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                except ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    pytest.fail(f"the OpenID Connect provider never answered {url}")
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        await asyncio.wait_for(self._process.wait(), READY_DEADLINE_S)

    async def restart(self, keys: list[SigningKey]) -> None:
        """The same issuer (same port) with other keys: the first one signs from now on."""
        await self.stop()
        self.keys = keys
        await self.start()

    async def token(
        self, client_id: str, resource: str | None = None, scope: str | None = SCOPE
    ) -> str:
        """An access token for a client, by the client_credentials grant."""
        client = self.clients[client_id]
        form = {"grant_type": "client_credentials"}
        if resource is not None:
            form["resource"] = resource
        if scope is not None:
            form["scope"] = scope
        async with ClientSession() as http:
            basic = f"{client.client_id}:{client.client_secret}".encode()
            auth = {"Authorization": "Basic " + base64.b64encode(basic).decode()}
            response = await http.post(f"{self.issuer}/token", data=form, headers=auth)
            body = await response.json()
        assert response.status == 200, body
        return str(body["access_token"])


AGENT_CLIENTS = [
    Client("inventory-workload", "inventory-workload-secret-0123456789"),
    Client("retired-workload", "retired-workload-secret-0123456789"),
    Client("stranger-workload", "stranger-workload-secret-0123456789"),
]
"""Workload identities at the provider; the gateway under test maps the first two."""


@pytest.fixture
async def oidc_provider(tmp_path: Path) -> AsyncIterator[OidcProvider]:
    _require_node()
    provider = OidcProvider(tmp_path, AGENT_CLIENTS, [SigningKey.new("key-1")])
    await provider.start()
    yield provider
    await provider.stop()
