"""Several ``lastmile serve`` processes sharing one PostgreSQL database, each with its own
directory, as separate hosts would be; the WMS sandbox and the test drive them over HTTP.

The test's event loop serves the sandbox, so everything here waits asynchronously (a
blocking wait would starve the sandbox the processes call).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import OPERATOR, TEST_CONFIG
from tests.postgres_db import postgres_dsn
from tests.test_cli_processes import free_port, wait_for_line

__all__ = ["postgres_dsn"]

# Patient backend timeouts: counts must not depend on the machine's load (a write that
# timed out has an unknown outcome), so these processes wait for the sandbox.
_PATIENT = TEST_CONFIG.replace("read_s: 1,", "read_s: 30,").replace("total_s: 0.5", "total_s: 30")
FLEET_CONFIG = (
    _PATIENT
    + """
postgres: {dsn: '${PG_DSN}', pool_max: 4, statement_timeout: 2s, connect_timeout: 2s}
fleet: {name: '${PROCESS_NAME}', heartbeat_every: 0.2s, lost_after: 1.5s}
guardrails:
  halts: {store: postgres, fresh_within: 2s, poll_every: 0.25s, confirm_within: 20s}
"""
)
"""Three processes' config; ``extra`` text continues the ``guardrails:`` section when it
is indented, and adds sections when it is not."""

POSTGRES_AUDIT = """audit:
  store: postgres
  path: ${AUDIT_DB}
  checkpoints: {key: '${FLEET_KEY}', every_s: 1}
"""
"""The fleet's one trail, signed with one key, in place of each process's SQLite file."""


@dataclass
class Member:
    name: str
    port: int
    directory: Path
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Fleet:
    http: ClientSession
    wms_url: str
    dsn: str
    root: Path
    extra: str
    audit_key: str | None = None  # base64 Ed25519: the trail is on PostgreSQL
    members: list[Member] = field(default_factory=list)

    def config_text(self) -> str:
        text = FLEET_CONFIG + self.extra
        if self.audit_key is not None:
            text = text.replace("audit:\n  path: ${AUDIT_DB}\n", POSTGRES_AUDIT)
        return text

    def environment(self, name: str) -> dict[str, str]:
        """What a process (or the CLI reading its trail) needs besides its config."""
        return {
            **os.environ,
            "PG_DSN": self.dsn,
            "PROCESS_NAME": name,
            "WMS_URL": self.wms_url,
            "AUDIT_DB": str(self.root / name / "audit.sqlite"),
            **({"FLEET_KEY": self.audit_key} if self.audit_key else {}),
        }

    async def start(self, name: str) -> Member:
        directory = self.root / name
        directory.mkdir(exist_ok=True)
        config = directory / "gateway.yaml"
        config.write_text(self.config_text())
        port = free_port()
        env = self.environment(name)
        process = subprocess.Popen(  # noqa: S603, ASYNC220 - our own CLI; Popen returns at once
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=directory,
            env=env,
        )
        try:
            await asyncio.to_thread(wait_for_line, process, '"event": "listening"')
        except AssertionError:  # it did not start: leave nothing open behind it
            if process.poll() is None:
                process.kill()
            await asyncio.to_thread(process.wait, 15)
            if process.stdout is not None:
                process.stdout.close()
            raise
        member = Member(name, port, directory, process)
        self.members.append(member)
        return member

    async def invoke(self, member: Member, operation: str, body: Any, key: str) -> tuple[int, Any]:
        return await self.send(
            member, "POST", f"/v1/operations/{operation}", key, body, timeout_s=30
        )

    async def send(
        self,
        member: Member,
        method: str,
        path: str,
        key: str = OPERATOR,
        body: Any = None,
        *,
        timeout_s: float = 60,
    ) -> tuple[int, Any]:
        async with self.http.request(
            method,
            member.url + path,
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=ClientTimeout(total=timeout_s),
        ) as response:
            return response.status, await response.json()

    async def sandbox_stats(self) -> dict[str, int]:
        async with self.http.get(f"{self.wms_url}/_sandbox/stats") as response:
            return dict(await response.json())

    async def processes(self, member: Member) -> dict[str, str]:
        status, body = await self.send(member, "GET", "/v1/admin/processes")
        assert status == 200, body
        return {p["name"]: p["status"] for p in body["processes"]}

    def kill(self, member: Member) -> None:
        member.process.send_signal(signal.SIGKILL)
        member.process.wait(timeout=10)

    async def stop_all(self) -> None:
        for member in self.members:
            if member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            try:
                await asyncio.to_thread(member.process.wait, 15)
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait()
            with contextlib.suppress(OSError):
                if member.process.stdout is not None:
                    member.process.stdout.close()


FleetFactory = Callable[..., Awaitable[Fleet]]


def fleet_signing_key() -> str:
    """One Ed25519 key for every process's checkpoints, base64 of the raw private bytes."""
    return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()


@pytest.fixture
async def fleet_of(
    postgres_dsn: str, wms: TestServer, tmp_path: Path
) -> AsyncIterator[FleetFactory]:
    """``await fleet_of(3)``: that many processes named gw0, gw1 ... on one database;
    ``dsn`` replaces the database's address (a proxy in front of it), ``extra`` adds
    config."""
    fleets: list[Fleet] = []
    http = ClientSession()

    async def start(
        count: int, *, dsn: str | None = None, extra: str = "", audit_on_postgres: bool = False
    ) -> Fleet:
        wms_url = str(wms.make_url("/")).rstrip("/")
        key = fleet_signing_key() if audit_on_postgres else None
        fleet = Fleet(http, wms_url, dsn or postgres_dsn, tmp_path, extra, key)
        fleets.append(fleet)
        for index in range(count):
            await fleet.start(f"gw{index}")
        return fleet

    yield start
    for fleet in fleets:
        await fleet.stop_all()
    await http.close()


async def eventually(
    probe: Callable[[], Awaitable[bool]], what: str, *, within_s: float = 30
) -> None:
    """Poll observable state until ``probe`` holds; fail (not hang) after ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await probe():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {within_s} s")
        await asyncio.sleep(0.05)
