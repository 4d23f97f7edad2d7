"""kill -9 of a real gateway process under load: the store verifies and holds every call
that any client saw answered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp

from gateway.audit.export import read_store
from gateway.audit.signing import parse_public_key
from gateway.audit.verify import verify_log
from gateway.demo.session import DEMO_KEYS
from tests.test_cli_processes import free_port, lastmile, wait_for_line

WORKERS = 12
KILL_AFTER = 150  # acknowledged calls before the kill


class Drain:
    """Reads a process's output on a thread (so a full pipe never stalls it) and
    signals when a marker line appears."""

    def __init__(self, process: subprocess.Popen[str], marker: str) -> None:
        self.seen = threading.Event()
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process, marker), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str], marker: str) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            if marker in line:
                self.seen.set()
        self.seen.set()

    def join(self) -> None:
        self._thread.join(timeout=10)


async def drive_until_killed(base: str, gateway: subprocess.Popen[str]) -> set[str]:
    acknowledged: set[str] = set()
    killed = asyncio.Event()
    headers = {"Authorization": f"Bearer {DEMO_KEYS['replenishment-bot']}"}
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "1",
        "posting_date": "2026-11-26",
    }

    async def worker(http: aiohttp.ClientSession, n: int) -> None:
        while True:
            write = n % 3 == 0
            path = "warehouse.goods_movements.create" if write else "warehouse.stock.get"
            body = movement if write else {"material": "100234", "plant": "1000"}
            try:
                async with http.post(f"{base}/v1/operations/{path}", json=body) as response:
                    await response.read()
                    acknowledged.add(response.headers["X-Request-Id"])
            except (TimeoutError, aiohttp.ClientError):
                assert killed.is_set(), "the gateway failed before it was killed"
                return
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                os.kill(gateway.pid, signal.SIGKILL)  # mid-load: other workers are in flight

    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        await asyncio.gather(*(worker(http, n) for n in range(WORKERS)))
    return acknowledged


async def test_kill_9_under_load_leaves_a_verifiable_store_with_every_acknowledged_call(
    tmp_path: Path,
) -> None:
    wms_port, gateway_port = free_port(), free_port()
    sandbox = lastmile("sandbox", "--port", str(wms_port), "--db", str(tmp_path / "wms.sqlite"))
    store, key_file = tmp_path / "audit.sqlite", tmp_path / "signing.pem"
    env = {
        "PATH": "/usr/bin:/bin",
        "LASTMILE_ACME_WMS_URL": f"http://127.0.0.1:{wms_port}",
        "LASTMILE_AUDIT_DB": str(store),
        "LASTMILE_AUDIT_KEY_FILE": str(key_file),
    }
    gateway = lastmile("serve", "--port", str(gateway_port), cwd=tmp_path, env=env)
    try:
        wait_for_line(sandbox, "ACME WMS sandbox on")
        drain = Drain(gateway, '"event": "listening"')
        await asyncio.to_thread(drain.seen.wait, 30)
        acknowledged = await drive_until_killed(f"http://127.0.0.1:{gateway_port}", gateway)
        assert gateway.wait(timeout=10) == -signal.SIGKILL
        drain.join()
    finally:
        for process in (gateway, sandbox):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
            if process.stdout:
                process.stdout.close()

    assert len(acknowledged) >= KILL_AFTER
    snapshot = read_store(store)
    stored = {s.entry.event["request_id"] for s in snapshot.entries}  # type: ignore[attr-defined]
    assert acknowledged <= stored
    report = verify_log(snapshot, [parse_public_key(str(key_file))])
    assert report.ok, report.summary()
    assert report.entries == len(stored)

    result = await asyncio.to_thread(
        subprocess.run,  # our own CLI
        [
            sys.executable,
            "-m",
            "gateway",
            "audit",
            "verify",
            "--store",
            str(store),
            "--public-key",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: entries 0..")
