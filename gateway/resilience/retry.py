"""Retries with tenacity: exponential backoff with full jitter, attempts and a deadline.

Declarative, as tenacity reads: stop after ``attempts`` or when the operation's total
deadline has passed; wait a random time in an exponentially widening window (full
jitter, ``wait_random_exponential``), never past the deadline; retry only the errors the
caller classifies retryable. The sleep and the clock are injected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from gateway.config.resilience import RetryConfig
from gateway.resilience.timing import Timing

T = TypeVar("T")


class stop_at_deadline(stop_base):  # noqa: N801 - named like tenacity's strategies
    """Stop once the injected clock has reached ``deadline``."""

    def __init__(self, clock: Callable[[], float], deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock() >= self._deadline


class RetryPolicy:
    def __init__(self, config: RetryConfig, timing: Timing) -> None:
        self.config = config
        self._timing = timing

    async def run(
        self,
        attempt: Callable[[int], Awaitable[T]],
        retryable: Callable[[BaseException], bool],
    ) -> T:
        """Run ``attempt(number)`` until it succeeds, fails for good, or the budget is spent;
        the last error is raised as it is."""
        clock = self._timing.clock
        deadline = clock() + self.config.deadline_s
        jitter = wait_random_exponential(
            multiplier=self.config.backoff_s, max=self.config.max_backoff_s
        )

        def wait(state: RetryCallState) -> float:
            return max(min(jitter(state), deadline - clock()), 0.0)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.attempts) | stop_at_deadline(clock, deadline),
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=self._timing.sleep,
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                return await attempt(try_.retry_state.attempt_number)
        raise AssertionError("tenacity ends with a result or the last error")  # pragma: no cover
