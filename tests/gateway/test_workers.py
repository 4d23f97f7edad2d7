"""The worker supervisor gives up on workers that keep dying instead of forking forever
(replacing one killed worker is tested on a real ``serve --workers 2`` in
tests/test_cli_processes.py)."""

from __future__ import annotations

import os
import sys

from gateway.commands.workers import Supervisor


def test_workers_that_keep_dying_end_the_supervisor_after_the_restart_budget() -> None:
    started: list[int] = []
    replaced: list[tuple[int, int, str]] = []

    def start_dying_worker() -> int:
        argv = [sys.executable, "-c", "raise SystemExit(3)"]
        started.append(os.posix_spawn(sys.executable, argv, os.environ))  # reaped by os.wait
        return started[-1]

    supervisor = Supervisor(
        start_dying_worker,
        2,
        on_replaced=lambda old, new, how: replaced.append((old, new, how)),
        max_restarts=3,
        within_s=3600,
    )
    assert supervisor.run() == 1
    assert len(replaced) == 3
    assert {how for _, _, how in replaced} == {"exited with 3"}
    assert len(started) == 2 + 3
    assert [new for _, new, _ in replaced] == started[2:]
