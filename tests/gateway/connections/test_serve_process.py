"""``lastmile serve`` as a real process closes a connection that never sends a request,
sizes its connection cap from the open-file limit it was started with, and runs on the
event loop ``server.event_loop`` names (uvloop unless told otherwise)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from gateway.config import default_config_text
from tests.gateway.connections.served import WAIT_S
from tests.test_cli_processes import free_port, wait_for_line

OPEN_FILE_LIMIT = 512
# 64 own files + 64 closing connections + three backend pools of 100 (the embedded config)
RESERVE = 64 + 64 + 3 * 100


class Served(NamedTuple):
    port: int
    listening: dict[str, Any]


@contextmanager
def served(tmp_path: Path, server_lines: str, *, prefix: Sequence[str] = ()) -> Iterator[Served]:
    """``lastmile serve`` on the embedded config with ``server_lines`` added under
    ``server:``, run under ``prefix`` (a shell setting a limit, say); yields its port and
    its "listening" line, and stops it with SIGINT, which must end it cleanly."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        default_config_text().replace("  port: 8080\n", "  port: 8080\n" + server_lines)
    )
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "LASTMILE_AUDIT_DB": str(tmp_path / "audit.sqlite"),
        "LASTMILE_ACME_WMS_URL": "http://127.0.0.1:9",  # never called here
    }
    command = [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port"]
    gateway = subprocess.Popen(  # noqa: S603 - our own CLI
        [*prefix, *command, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        [listening] = [
            json.loads(line)
            for line in wait_for_line(gateway, '"event": "listening"')
            if '"listening"' in line
        ]
        yield Served(port, listening)
        gateway.send_signal(signal.SIGINT)
        assert gateway.wait(timeout=WAIT_S) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        if gateway.stdout:
            gateway.stdout.close()


def test_serve_closes_a_silent_connection_and_caps_by_the_open_file_limit(
    tmp_path: Path,
) -> None:
    under_limit = ["/bin/sh", "-c", f'ulimit -n {OPEN_FILE_LIMIT} && exec "$@"', "sh"]
    lines = "  connections: {header_s: 0.3, idle_s: 30}\n"
    with served(tmp_path, lines, prefix=under_limit) as (port, listening):
        assert listening["max_open"] == OPEN_FILE_LIMIT - RESERVE
        assert (listening["header_s"], listening["idle_s"]) == (0.3, 30)
        assert listening["event_loop"] == "uvloop"  # the default, and what bench/ measures

        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as silent:
            opened = time.monotonic()
            assert silent.recv(1024) == b""  # EOF from the server, well before WAIT_S
            assert time.monotonic() - opened >= 0.2


def test_serve_runs_on_asyncios_own_loop_when_configured(tmp_path: Path) -> None:
    with served(tmp_path, "  event_loop: asyncio\n") as (port, listening):
        assert listening["event_loop"] == "asyncio"
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
