"""Retries with tenacity: exponential backoff with full jitter, attempts and a deadline.

Declarative, as tenacity reads: stop after ``attempts`` or when the operation's total
deadline has passed; wait a random time in an exponentially widening window (full
jitter, ``wait_random_exponential``), never past the deadline; retry only the errors the
caller classifies retryable. The sleep and the clock are injected.
"""

from __future__ import annotations

import random
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
        the last error is raised as it is.

        The first attempt runs on its own: almost every call succeeds at once, and setting
        up tenacity's retry state costs more than the rest of the retry logic. Only a
        retryable failure brings tenacity in, for attempts 2 and on, with the same backoff
        schedule (see ``_retry``)."""
        clock = self._timing.clock
        deadline = clock() + self.config.deadline_s
        try:
            return await attempt(1)
        except Exception as exc:
            if self.config.attempts < 2 or not retryable(exc) or clock() >= deadline:
                raise
        return await self._retry(attempt, retryable, deadline)

    async def _retry(
        self,
        attempt: Callable[[int], Awaitable[T]],
        retryable: Callable[[BaseException], bool],
        deadline: float,
    ) -> T:
        """Attempts 2 and on after a retryable failure of the first. Tenacity numbers its
        own attempts from 1, so its n-th is our (n+1)-th: the first wait (full jitter over
        ``backoff_s``) is slept here, and tenacity's widening window starts at twice the
        multiplier, which is exactly the window the (n+1)-th attempt would have had."""
        clock = self._timing.clock
        config = self.config
        # wait_random_exponential's first window: uniform over [0, min(max, multiplier)]
        first = random.uniform(0, min(config.max_backoff_s, config.backoff_s))  # noqa: S311
        await self._timing.sleep(max(min(first, deadline - clock()), 0.0))
        if clock() >= deadline:
            # a wait cut short by the deadline is followed by one last attempt, as in tenacity
            return await attempt(2)
        jitter = wait_random_exponential(multiplier=2 * config.backoff_s, max=config.max_backoff_s)

        def wait(state: RetryCallState) -> float:
            return max(min(jitter(state), deadline - clock()), 0.0)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(config.attempts - 1) | stop_at_deadline(clock, deadline),
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=self._timing.sleep,
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                return await attempt(try_.retry_state.attempt_number + 1)
        raise AssertionError("tenacity ends with a result or the last error")  # pragma: no cover
