"""``lastmile serve``: run the gateway until SIGINT or SIGTERM.

The server is started by hand rather than with ``web.run_app`` so that the
``listening`` log line comes only once the socket accepts connections: supervisors
and tests can wait for it instead of polling.

``--workers N`` forks N processes that share the port (``SO_REUSEPORT``; the kernel
spreads connections) under a supervisor that replaces one that dies
(``gateway/commands/workers.py``). Each builds its own application after the fork. They
share what lives in files or services: the audit log (its writer re-reads the head
another process appended), approvals, and the state store if it is SQLite or Redis. An
in-memory state store would be per worker and silently split every limit, budget,
idempotency key and halt, so several workers on it are refused at start.

Connections get read deadlines, an idle close and a cap (``server.connections``; see
gateway/connections); the cap is per process, so N workers hold up to N times it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

import structlog
from aiohttp import web

from gateway.commands.workers import Supervisor, per_process_state, record_replacement
from gateway.config import Config, default_config_text, load_config
from gateway.connections.budget import ConnectionBudget, budget_for


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="gateway.yaml (default: the embedded one)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (default 1)"
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from gateway.audit.signing import CheckpointSigner
    from gateway.logs import configure_logging

    config = load_config(args.config)
    text = args.config.read_text("utf-8") if args.config else default_config_text()
    configure_logging(config.logging.level)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    if args.workers < 1 or (args.workers > 1 and port == 0):
        print(
            "lastmile serve: --workers needs N >= 1 and, above 1, a fixed --port", file=sys.stderr
        )
        return 2
    split = per_process_state(config) if args.workers > 1 else []
    if split:
        print(
            f"lastmile serve: --workers {args.workers} would give each worker its own "
            f"{'; '.join(split)}, splitting those guarantees between workers. Configure "
            "state.store: sqlite (one host) or redis (several hosts), or run one worker.",
            file=sys.stderr,
        )
        return 2
    CheckpointSigner.from_config(config.audit.checkpoints)  # create the key file once, not N times
    if args.workers == 1:
        _run_worker(config, text, host, port, reuse_port=False)
        return 0
    asyncio.run(_prepare_shared_files(config))
    supervisor = Supervisor(
        partial(_fork_worker, config, text, host, port),
        args.workers,
        on_replaced=partial(record_replacement, config),
    )
    return supervisor.run()


async def _prepare_shared_files(config: Config) -> None:
    """Create the SQLite files the workers share (and switch them to WAL) once, before
    forking: workers creating one new file at the same moment can find it locked."""
    from gateway.audit.store_sqlite import SqliteAuditStore
    from gateway.guardrails.approval_store import SqliteHeldCallStore
    from gateway.guardrails.runtime import approvals_path
    from gateway.state.factory import build_state_store, open_state_store

    if config.audit.store == "sqlite":
        audit = SqliteAuditStore.from_config(config.audit)
        await audit.open()
        await audit.close()
    if config.guardrails.approvals.store == "sqlite":
        approvals = SqliteHeldCallStore(approvals_path(config))
        await approvals.open()
        await approvals.close()
    state = build_state_store(config.state, time.time)
    await open_state_store(state)
    await state.close()


def _fork_worker(config: Config, text: str, host: str, port: int) -> int:
    pid = os.fork()
    if pid == 0:  # the child serves until its parent stops it, then leaves at once
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # not the supervisor's handlers
        code = 0
        try:
            _run_worker(config, text, host, port, reuse_port=True)
        except BaseException:
            traceback.print_exc()  # a worker that cannot start says why, then leaves
            code = 1
        finally:
            os._exit(code)
    return pid


def _run_worker(config: Config, text: str, host: str, port: int, *, reuse_port: bool) -> None:
    from gateway.app import build_app

    app = build_app(config, config_text=text)
    gc.freeze()  # what start-up built lives as long as the process: keep it out of collections
    serving = serve_until_stopped(app, budget_for(config), host, port, reuse_port=reuse_port)
    with asyncio.Runner(loop_factory=loop_factory(config.server.event_loop)) as runner:
        runner.run(serving)


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``server.event_loop`` names (None: asyncio's own)."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


async def serve_until_stopped(
    app: web.Application,
    budget: ConnectionBudget,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
) -> None:
    from gateway.connections.runner import start_gateway

    runner = await start_gateway(app, budget, host, port, reuse_port=reuse_port)
    try:
        log = structlog.get_logger("lastmile")
        if not budget.fits:
            log.warning(
                "open_file_limit_too_low",
                open_file_limit=budget.open_file_limit,
                max_open=budget.max_open,
                reserve=budget.reserve,
                hint="raise ulimit -n, or lower server.connections.max_open or the "
                "backends' max_connections",
            )
        log.info(
            "listening",
            host=host,
            port=port,
            pid=os.getpid(),
            max_open=budget.max_open,
            header_s=budget.header_s,
            body_s=budget.body_s,
            idle_s=budget.idle_s,
            event_loop=type(asyncio.get_running_loop()).__module__.split(".")[0],
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
