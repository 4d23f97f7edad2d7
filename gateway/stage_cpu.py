"""Optional per-stage CPU counters: where a call's time goes, stage by stage.

Off by default (``tracing.stage_cpu``); when off, the pipeline is exactly the uncounted
one, so the hot path pays nothing. When on, each stage is wrapped once, at start-up, in a
shell that counts the CPU time of the event loop's thread (``time.thread_time_ns``) spent
in the stage itself: the time inside the stage less the time inside the stages it
proceeds to. The audit writer's thread and time spent waiting (backend, fsync) are not
CPU of the loop thread, so they are not counted.

The attribution is exact only when calls run one at a time: while a stage awaits, the
loop may run another call's code on the same thread, which is then counted to the
awaiting stage. ``bench/stage_cpu.py`` therefore drives sequential calls. The totals are
the gauges ``lastmile_stage_cpu_seconds{stage}`` and ``lastmile_stage_calls{stage}``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.metrics import Metrics
from gateway.pipeline import Call, Path, Proceed, Stage, StageOutcome


@dataclass
class StageCpu:
    """What one stage has cost so far: calls entered and CPU nanoseconds of its own."""

    calls: int = 0
    own_ns: int = 0

    def seconds(self) -> float:
        return self.own_ns / 1e9

    def entered(self) -> float:
        return float(self.calls)


class CountedStage:
    """A stage whose own CPU time is added to a :class:`StageCpu`."""

    def __init__(self, stage: Stage, cost: StageCpu) -> None:
        self._stage = stage
        self._cost = cost
        self.skip_on: frozenset[Path] = getattr(stage, "skip_on", frozenset())

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        inner = 0

        async def timed(call: Call) -> StageOutcome:
            nonlocal inner
            started = time.thread_time_ns()
            try:
                return await proceed(call)
            finally:
                inner += time.thread_time_ns() - started

        started = time.thread_time_ns()
        try:
            return await self._stage(call, timed)
        finally:
            self._cost.calls += 1
            self._cost.own_ns += time.thread_time_ns() - started - inner


def counted(stages: Sequence[Stage], metrics: Metrics) -> tuple[Stage, ...]:
    """The stages, each counting its own CPU time, published as gauges in ``metrics``."""
    costs = {_name(stage): StageCpu() for stage in stages}
    metrics.gauges(
        "lastmile_stage_cpu_seconds",
        "CPU time of the event loop's thread spent in each pipeline stage itself.",
        "stage",
        {name: cost.seconds for name, cost in costs.items()},
    )
    metrics.gauges(
        "lastmile_stage_calls",
        "Calls that entered each pipeline stage (the divisor for its CPU time).",
        "stage",
        {name: cost.entered for name, cost in costs.items()},
    )
    return tuple(CountedStage(stage, costs[_name(stage)]) for stage in stages)


def _name(stage: Stage) -> str:
    inner = getattr(stage, "stage", stage)  # a traced stage: name the stage inside
    return type(inner).__name__
