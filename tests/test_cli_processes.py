"""The long-running commands, as real processes: `serve`, `sandbox`, `demo --keep-running`."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.config import default_config_text
from gateway.demo.session import DEMO_KEYS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lastmile(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env=env,
    )


_OUTPUT: dict[int, queue.Queue[str | None]] = {}


def _output(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output lines, read by one thread per process (None: it ended)."""
    lines = _OUTPUT.get(process.pid)
    if lines is None:
        lines = _OUTPUT[process.pid] = queue.Queue()

        def pump(stream: Any, into: queue.Queue[str | None]) -> None:
            with contextlib.suppress(ValueError, OSError):  # the test closed the pipe
                for line in stream:
                    into.put(line)
            into.put(None)

        threading.Thread(target=pump, args=(process.stdout, lines), daemon=True).start()
    return lines


def wait_for_line(process: subprocess.Popen[str], marker: str, timeout_s: float = 60) -> list[str]:
    """Lines of the process's output up to one holding ``marker``: waits on the line itself,
    and fails (rather than hangs) if it has not come within ``timeout_s``."""
    lines, seen = _output(process), []
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.001))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {timeout_s} s: {''.join(seen)}") from None
        if line is None:
            raise AssertionError(f"process ended without printing {marker!r}: {''.join(seen)}")
        seen.append(line)
        if marker in line:
            return seen


def get(
    url: str, key: str | None = None, body: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)  # noqa: S310
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if body:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def wms_sandbox(tmp_path: Path, stopped: list[subprocess.Popen[str]]) -> dict[str, str]:
    """A running WMS sandbox process, and the environment a gateway process needs for it."""
    wms_port = free_port()
    sandbox = lastmile("sandbox", "--port", str(wms_port), "--db", str(tmp_path / "wms.sqlite"))
    stopped.append(sandbox)
    wait_for_line(sandbox, "ACME WMS sandbox on")
    return {
        "PATH": "/usr/bin:/bin",
        "LASTMILE_ACME_WMS_URL": f"http://127.0.0.1:{wms_port}",
        "LASTMILE_AUDIT_DB": str(tmp_path / "audit.sqlite"),
    }


def test_serve_and_sandbox_answer_a_real_agent_call(
    tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    gateway_port = free_port()
    env = wms_sandbox(tmp_path, stopped)
    gateway = lastmile("serve", "--port", str(gateway_port), cwd=tmp_path, env=env)
    stopped.append(gateway)
    base = f"http://127.0.0.1:{gateway_port}"

    # The gateway logs one JSON line at start-up once it listens (see gateway.commands.serve).
    wait_for_line(gateway, '"event": "listening"')
    status, body = get(
        f"{base}/v1/operations/warehouse.stock.get",
        DEMO_KEYS["inventory-bot"],
        {"material": "100235", "plant": "1000"},
    )
    assert status == 200
    assert body["output"]["quantity"] == "4000.000"  # type: ignore[index]

    gateway.send_signal(signal.SIGINT)
    assert gateway.wait(timeout=10) == 0
    audit = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    [event] = [json.loads(line) for line in audit.stdout.splitlines()]
    assert event["operation"] == "warehouse.stock.get"
    assert event["outcome"] == "ok"


def test_demo_keep_running_stays_up_until_interrupted(stopped: list[subprocess.Popen[str]]) -> None:
    demo = lastmile("demo", "--keep-running")
    stopped.append(demo)

    lines = wait_for_line(demo, "/readyz\n")
    url = lines[-1].split()[2]
    status, body = get(url)
    assert status == 200
    assert body["ready"] is True

    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=20) == 0


def shared_state_config(tmp_path: Path) -> Path:
    """The embedded config with its state in a SQLite file the workers share."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        default_config_text().replace(
            "  store: memory ", f"  store: sqlite\n  path: {tmp_path / 'state.sqlite'} "
        )
    )
    return config


def test_serve_refuses_several_workers_on_per_process_state(tmp_path: Path) -> None:
    refused = lastmile("serve", "--workers", "2", "--port", str(free_port()), cwd=tmp_path)
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert "state.store: memory" in output
    assert "redis" in output


def test_serve_with_two_workers_shares_the_port_and_one_audit_log(
    tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    gateway_port = free_port()
    env = wms_sandbox(tmp_path, stopped)
    config = str(shared_state_config(tmp_path))
    gateway = lastmile(
        "serve", "--config", config, "--workers", "2", "--port", str(gateway_port),
        cwd=tmp_path, env=env,
    )  # fmt: skip
    stopped.append(gateway)
    first = wait_for_line(gateway, '"event": "listening"')
    second = wait_for_line(gateway, '"event": "listening"')
    pids = {json.loads(line)["pid"] for line in (first[-1], second[-1])}
    assert len(pids) == 2

    for _ in range(10):
        status, _ = get(
            f"http://127.0.0.1:{gateway_port}/v1/operations/warehouse.stock.get",
            DEMO_KEYS["inventory-bot"],
            {"material": "100235", "plant": "1000"},
        )
        assert status == 200

    os.kill(pids.pop(), signal.SIGKILL)  # one worker dies: the supervisor replaces it
    replaced = wait_for_line(gateway, '"event": "worker_replaced"')
    replacement = json.loads(replaced[-1])["replacement"]
    restarted = wait_for_line(gateway, '"event": "listening"')
    assert json.loads(restarted[-1])["pid"] == replacement
    status, _ = get(
        f"http://127.0.0.1:{gateway_port}/v1/operations/warehouse.stock.get",
        DEMO_KEYS["inventory-bot"],
        {"material": "100235", "plant": "1000"},
    )
    assert status == 200
    gateway.send_signal(signal.SIGTERM)
    assert gateway.wait(timeout=20) == 0

    verify = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gateway",
            "audit",
            "verify",
            "--store",
            str(tmp_path / "audit.sqlite"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "entries 0..11 (12) chain intact" in verify.stdout  # 11 calls, one replacement
