"""``serve --workers N``: a supervisor that forks N workers sharing the port, replaces
one that dies, and stops them all on SIGTERM or SIGINT.

The supervisor serves nothing itself, so a worker's death never takes the listening
socket with it. Each replacement is logged (``worker_replaced``) and written to the audit
trail as an administrative act of the ``supervisor``. A worker that keeps dying (more than
``max_restarts`` within ``within_s`` seconds, e.g. it cannot start) ends the supervisor
with exit code 1 instead of a fork loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import deque
from collections.abc import Callable
from types import FrameType

import structlog

from gateway.config import Config

log = structlog.get_logger("lastmile.workers")


class _Stop(Exception):
    """Raised by the signal handler to leave ``os.wait``."""


def per_process_state(config: Config) -> list[str]:
    """What several workers would each keep for themselves, silently splitting a
    guarantee (limits, budgets, idempotency keys, halts) between them."""
    if config.state.store != "memory":
        return []
    found = [
        "state.store: memory (rate limits, budgets, idempotency keys, MCP sessions, "
        "console sessions and sign-in throttling)"
    ]
    if config.guardrails.halts.store == "state":
        found.append("guardrails.halts.store: state on memory (halts)")
    return found


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with {os.waitstatus_to_exitcode(status)}"


class Supervisor:
    def __init__(
        self,
        start_worker: Callable[[], int],
        count: int,
        *,
        on_replaced: Callable[[int, int, str], None],
        max_restarts: int = 5,
        within_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._start_worker = start_worker
        self._count = count
        self._on_replaced = on_replaced
        self._max_restarts = max_restarts
        self._within_s = within_s
        self._clock = clock
        self._workers: set[int] = set()
        self._deaths: deque[float] = deque()

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            self._workers = {self._start_worker() for _ in range(self._count)}
            while True:
                pid, status = os.wait()
                if pid not in self._workers:
                    continue
                self._workers.discard(pid)
                if not self._may_restart():
                    log.error(
                        "workers_keep_dying",
                        pid=pid,
                        how=describe_exit(status),
                        restarts=self._max_restarts,
                        within_s=self._within_s,
                    )
                    code = 1
                    break
                replacement = self._start_worker()
                self._workers.add(replacement)
                how = describe_exit(status)
                log.warning("worker_replaced", pid=pid, how=how, replacement=replacement)
                self._on_replaced(pid, replacement, how)
        except _Stop:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop_all()
        return code

    def _may_restart(self) -> bool:
        now = self._clock()
        self._deaths.append(now)
        while self._deaths and self._deaths[0] < now - self._within_s:
            self._deaths.popleft()
        return len(self._deaths) <= self._max_restarts

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        raise _Stop

    def _stop_all(self) -> None:
        for pid in self._workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for pid in self._workers:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                continue


def record_replacement(config: Config, old: int, new: int, how: str) -> None:
    """Write the replacement to the audit trail (the supervisor opens the store briefly)."""
    asyncio.run(_record(config, old, new, how))


async def _record(config: Config, old: int, new: int, how: str) -> None:
    from gateway.audit.admin import record_admin_action
    from gateway.audit.factory import build_audit_store
    from gateway.postgres import Postgres

    postgres = Postgres(config.postgres) if config.postgres is not None else None
    if postgres is not None:
        await postgres.open()
    store = build_audit_store(config.audit, postgres, writer=f"supervisor:{os.getpid()}")
    await store.open()
    try:
        await record_admin_action(
            store,
            request_id=f"req_{uuid.uuid4().hex}",
            actor="supervisor",
            action="worker_replaced",
            target=f"pid {old}",
            detail=f"worker {old} {how}; replaced by worker {new}",
        )
    finally:
        await store.close()
        if postgres is not None:
            await postgres.close()
