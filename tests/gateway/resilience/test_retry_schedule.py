"""The retry policy's schedule, attempt by attempt: the first attempt runs outside
tenacity (the common case pays nothing for retry bookkeeping), so these tests pin that
the attempts, their numbers and the full-jitter windows are exactly tenacity's
``wait_random_exponential`` schedule, and that the deadline and the attempt budget stop it."""

from __future__ import annotations

import random

import pytest

from gateway.config.resilience import RetryConfig
from gateway.resilience.retry import RetryPolicy
from gateway.resilience.timing import Timing


class Flaky(Exception):
    """A retryable failure."""


class Final(Exception):
    """A failure that must not be retried."""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def policy(
    clock: Clock, *, attempts: int, backoff_s: float, max_backoff_s: float, deadline_s: float
) -> RetryPolicy:
    config = RetryConfig(
        attempts=attempts,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
        deadline_s=deadline_s,
    )
    return RetryPolicy(config, Timing(clock=clock, sleep=clock.sleep))


async def always_failing(policy: RetryPolicy, numbers: list[int]) -> None:
    async def attempt(number: int) -> None:
        numbers.append(number)
        raise Flaky(number)

    with pytest.raises(Flaky):
        await policy.run(attempt, lambda exc: isinstance(exc, Flaky))


async def test_the_backoff_is_tenacitys_full_jitter_window_for_every_attempt() -> None:
    clock = Clock()
    numbers: list[int] = []
    random.seed(1729)
    await always_failing(
        policy(clock, attempts=7, backoff_s=0.1, max_backoff_s=2.5, deadline_s=600), numbers
    )
    random.seed(1729)  # the same draws, in the same order, as wait_random_exponential makes
    expected = [random.uniform(0, min(2.5, 0.1 * 2**k)) for k in range(6)]  # noqa: S311
    assert numbers == [1, 2, 3, 4, 5, 6, 7]
    assert clock.sleeps == pytest.approx(expected)


async def test_a_success_after_failures_returns_at_once() -> None:
    clock = Clock()
    numbers: list[int] = []

    async def attempt(number: int) -> str:
        numbers.append(number)
        if number < 3:
            raise Flaky(number)
        return f"answered on attempt {number}"

    result = await policy(clock, attempts=5, backoff_s=0.1, max_backoff_s=1, deadline_s=60).run(
        attempt, lambda exc: isinstance(exc, Flaky)
    )
    assert result == "answered on attempt 3"
    assert numbers == [1, 2, 3]
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("attempts", [1, 2, 3])
async def test_the_attempt_budget_is_exact(attempts: int) -> None:
    clock = Clock()
    numbers: list[int] = []
    await always_failing(
        policy(clock, attempts=attempts, backoff_s=0.1, max_backoff_s=1, deadline_s=60), numbers
    )
    assert numbers == list(range(1, attempts + 1))
    assert len(clock.sleeps) == attempts - 1


async def test_a_failure_that_is_not_retryable_is_raised_after_one_attempt() -> None:
    clock = Clock()
    numbers: list[int] = []

    async def attempt(number: int) -> None:
        numbers.append(number)
        raise Final(number)

    with pytest.raises(Final):
        await policy(clock, attempts=5, backoff_s=0.1, max_backoff_s=1, deadline_s=60).run(
            attempt, lambda exc: isinstance(exc, Flaky)
        )
    assert numbers == [1]
    assert clock.sleeps == []


async def test_waits_never_pass_the_deadline_and_one_attempt_follows_the_last_wait() -> None:
    clock = Clock()
    numbers: list[int] = []
    await always_failing(
        policy(clock, attempts=20, backoff_s=4, max_backoff_s=4, deadline_s=10), numbers
    )
    assert sum(clock.sleeps) == pytest.approx(10)  # every wait clamped to what is left
    assert clock.now == pytest.approx(1_010.0)
    assert len(numbers) == len(clock.sleeps) + 1  # the last wait is followed by an attempt


async def test_no_retry_once_the_deadline_has_passed_during_the_first_attempt() -> None:
    clock = Clock()
    numbers: list[int] = []

    async def attempt(number: int) -> None:
        numbers.append(number)
        clock.now += 30  # the first attempt alone outlasts the deadline
        raise Flaky(number)

    with pytest.raises(Flaky):
        await policy(clock, attempts=5, backoff_s=0.1, max_backoff_s=1, deadline_s=10).run(
            attempt, lambda exc: isinstance(exc, Flaky)
        )
    assert numbers == [1]
    assert clock.sleeps == []
