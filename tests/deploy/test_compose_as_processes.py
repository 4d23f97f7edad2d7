"""The fleet of deploy/compose.yaml, run as plain processes: the services' own commands and
environment (see compose_processes.py for the few things a container would provide), three
gateways from the production wheel on the machine's PostgreSQL (a fresh database) and a Redis
started with the compose command, the sandboxes, and HAProxy with deploy/haproxy.cfg in
front. Calls go through the load balancer only."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
import yaml
from aiohttp import ClientSession, ClientTimeout, TCPConnector
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.factory import build_audit_store
from gateway.config import AuditConfig
from tests.conftest import INVENTORY, OPERATOR
from tests.deploy.compose_processes import (
    LocalProcess,
    Translation,
    container_port,
    local_process,
)
from tests.deploy.conftest import DEPLOY, system_binary
from tests.deploy.manifests import compose
from tests.fleet.conftest import eventually
from tests.postgres_db import postgres_dsn
from tests.test_cli_processes import free_port, wait_for_line

__all__ = ["postgres_dsn"]

GATEWAYS = ("gateway-1", "gateway-2", "gateway-3")
SANDBOXES = ("acme-wms", "acme-erp")
COMPOSE_ENV = {"LASTMILE_DB_PASSWORD": "only-in-this-test"}  # what deploy/.env would hold
STOCK = {"material": "100234", "plant": "1000"}
READY_LINES = {  # what each kind of process prints once it accepts connections
    "redis": "Ready to accept connections",
    "acme-wms": "sandbox on",
    "acme-erp": "sandbox on",
    **dict.fromkeys(GATEWAYS, '"event": "listening"'),
}


def _audit_store_unbuilt() -> bool:
    """Whether this build still lacks ``audit.store: postgres`` (being built alongside this
    deployment); the fleet then runs with each replica's SQLite trail, and only that differs
    from deploy/gateway.yaml."""
    try:
        build_audit_store(AuditConfig(store="postgres"), None)
    except NotImplementedError:
        return True
    except Exception:  # noqa: S110 - built: it only refuses a missing pool
        pass
    return False


def _fleet_config(scratch: Path) -> Path:
    config = DEPLOY / "gateway.yaml"
    if not _audit_store_unbuilt():
        return config
    document = yaml.safe_load(config.read_text())
    document["audit"]["store"] = "sqlite"
    document["audit"]["path"] = "${LASTMILE_AUDIT_DB}"  # the image's ENV: on its volume
    copy = scratch / "gateway.yaml"
    copy.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def _signing_key(scratch: Path) -> Path:
    """What `openssl genpkey -algorithm ed25519` writes (docs/production.md)."""
    path = scratch / "audit-signing.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o400)
    return path


@dataclass
class ComposeFleet:
    processes: dict[str, subprocess.Popen[str]]
    plan: dict[str, LocalProcess]
    lb_url: str
    redis_url: str

    async def call(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
        """One request through the load balancer on a connection of its own."""
        async with (
            ClientSession(connector=TCPConnector(force_close=True)) as http,
            http.request(
                method,
                self.lb_url + path,
                json=body,
                headers={"Authorization": f"Bearer {key}"},
                timeout=ClientTimeout(total=60),
            ) as response,
        ):
            return response.status, await response.json()


def _start(process: LocalProcess) -> subprocess.Popen[str]:
    """Output we wait on is piped (and read to the end by wait_for_line's reader); the rest
    (HAProxy's request log) goes to a file, so a full pipe never stalls the process."""
    waited = process.name in READY_LINES
    with open(process.cwd / "output.log", "w") as log:
        return subprocess.Popen(  # noqa: S603 - the compose file's own commands
            process.argv,
            stdout=subprocess.PIPE if waited else log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=process.cwd,
            env=process.env,
        )


def _stop(processes: dict[str, subprocess.Popen[str]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(OSError):
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
async def compose_fleet(
    postgres_dsn: str, tmp_path: Path, production_bin: Path
) -> AsyncIterator[ComposeFleet]:
    programs = {name: system_binary(name) for name in ("haproxy", "redis-server")}
    top = compose()
    services = top["services"]
    dsn_inside = services[GATEWAYS[0]]["environment"]["LASTMILE_POSTGRES_DSN"]
    assert "@postgres:5432/" in dsn_inside  # the one value replaced: the machine's server
    names = ["redis", *SANDBOXES, *GATEWAYS, "lb"]
    ports = {name: free_port() for name in names}
    translation = Translation(
        addresses={f"{n}:{container_port(n, services[n])}": f"127.0.0.1:{ports[n]}" for n in names},
        ports=ports,
    )
    key = _signing_key(tmp_path)
    common: dict[str, Any] = {
        "production_bin": production_bin,
        "compose_env": COMPOSE_ENV,
        "extra_paths": {
            "/etc/lastmile/gateway.yaml": _fleet_config(tmp_path),
            "/run/secrets/audit_signing_key": key,
        },
    }
    lb_env = {
        "LASTMILE_LB_BIND": f"127.0.0.1:{ports['lb']}",
        **{f"LASTMILE_{n.upper().replace('-', '_')}": f"127.0.0.1:{ports[n]}" for n in GATEWAYS},
    }
    plan = {
        name: local_process(
            name,
            top,
            translation,
            tmp_path,
            overrides={"LASTMILE_POSTGRES_DSN": postgres_dsn}
            if name in GATEWAYS
            else (lb_env if name == "lb" else {}),
            **common,
        )
        for name in names
    }
    plan["redis"].argv += ["--port", str(ports["redis"]), "--bind", "127.0.0.1"]
    for process in plan.values():  # images that are a Debian package's program here
        process.argv[0] = programs.get(process.argv[0], process.argv[0])
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        for tier in (["redis", *SANDBOXES], GATEWAYS, ["lb"]):  # the order depends_on gives
            processes.update({name: _start(plan[name]) for name in tier})
            await asyncio.gather(
                *(
                    asyncio.to_thread(wait_for_line, processes[name], READY_LINES[name])
                    for name in tier
                    if name in READY_LINES
                )
            )
        fleet = ComposeFleet(
            processes,
            plan,
            f"http://127.0.0.1:{ports['lb']}",
            f"redis://127.0.0.1:{ports['redis']}/0",
        )

        async def ready() -> bool:
            with contextlib.suppress(OSError):
                status, _ = await fleet.call("GET", "/readyz", INVENTORY)
                return status == 200
            return False

        await eventually(ready, "the load balancer answering /readyz with 200")
        yield fleet
    finally:
        await asyncio.to_thread(_stop, processes)


async def test_the_compose_fleet_is_ready_and_answers_calls_through_the_load_balancer(
    compose_fleet: ComposeFleet,
) -> None:
    status, readiness = await compose_fleet.call("GET", "/readyz", INVENTORY)
    assert status == 200, readiness
    assert readiness["ready"] is True
    assert readiness["halts_fresh"] is True  # the halts come from PostgreSQL
    assert {b["name"] for b in readiness["backends"]} == {"acme_wms", "acme_erp"}

    status, answer = await compose_fleet.call(
        "POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK
    )
    assert status == 200, answer

    status, listing = await compose_fleet.call("GET", "/v1/admin/processes", OPERATOR)
    assert status == 200, listing
    live = {p["name"] for p in listing["processes"] if p["status"] == "live"}
    assert live == set(GATEWAYS)  # fleet.name from each service's hostname

    store = redis.Redis.from_url(compose_fleet.redis_url)
    try:
        assert (await store.config_get("appendonly"))["appendonly"] == "yes"
        policy = await store.config_get("maxmemory-policy")
        assert policy["maxmemory-policy"] == "noeviction"
        assert await store.keys("lastmile:*")  # the replicas keep their limits there
    finally:
        await store.aclose()


async def test_a_halt_through_the_load_balancer_is_confirmed_by_all_three_replicas(
    compose_fleet: ComposeFleet,
) -> None:
    status, halt = await compose_fleet.call(
        "POST",
        "/v1/admin/halts",
        OPERATOR,
        {"scope": "agent", "target": "inventory-bot", "reason": "drill"},
    )
    assert status == 201, halt
    assert halt["acknowledged"] is True
    assert halt["confirmed_by"] == list(GATEWAYS)
    refused = [
        await compose_fleet.call("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
        for _ in range(6)
    ]
    assert {(status, body["code"]) for status, body in refused} == {(503, "halted")}


async def test_a_replica_that_dies_costs_no_call(compose_fleet: ComposeFleet) -> None:
    victim = compose_fleet.processes["gateway-2"]
    victim.send_signal(signal.SIGKILL)
    await asyncio.to_thread(victim.wait, 10)
    answers = [
        await compose_fleet.call("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
        for _ in range(9)
    ]
    assert [status for status, _ in answers] == [200] * 9

    async def tried_the_dead_one() -> bool:
        """HAProxy logs a request it redispatched with ``+`` before its retry count: the
        test did send calls towards the dead replica, and they were answered."""
        log = (compose_fleet.plan["lb"].cwd / "output.log").read_text()
        return re.search(r" \d+/\d+/\d+/\d+/\+\d+ ", log) is not None

    await eventually(tried_the_dead_one, "a redispatched request in HAProxy's log")
