"""GCRA, the generic cell rate algorithm: "N calls per W seconds" in one number per key.

A limit of ``N`` per ``W`` has an emission interval ``T = W / N`` and a capacity
``W`` (``N`` intervals). The state is the theoretical arrival time (TAT) of the next
call. A call at ``now`` moves it to ``max(TAT, now) + T`` and is admitted if that stays
within ``now + W``: from idle, ``N`` calls are admitted at once, then one every ``T``.
So the cost per check and the memory per key do not depend on ``N``, ``W`` or the call
rate. All arithmetic is in whole microseconds (integers), the same in every store; the
Redis store runs the same steps in Lua (``gateway/state/redis.py``) on Redis's clock.

Precision: over any long stretch the admitted rate is at most ``N / W``; in any single
window of ``W`` seconds at most ``2N - 1`` calls are admitted (a full burst of ``N``
at the end of an idle period, then one per ``T``), so the worst-case overshoot of a
sliding "N in any W" count is ``N - 1``. A refusal's ``retry_after_s`` is exact: a call
at that moment is admitted (if nobody else took the slot first).

Handing a call back moves the TAT back one interval, never before ``now``: the quota is
as if the call had not been made, except that what would have replenished by itself in
the meantime is not given twice.
"""

from __future__ import annotations

from gateway.state.store import MICRO, Rate, RateDecision


def take(tat_us: int | None, now_us: int, rate: Rate) -> tuple[int | None, RateDecision]:
    """(the new TAT to store, or None if refused; the decision)."""
    interval, capacity = rate.interval_us, rate.capacity_us
    tat = max(tat_us or 0, now_us)
    new_tat = tat + interval
    if new_tat - now_us > capacity:
        retry_us = new_tat - capacity - now_us
        return None, RateDecision(False, 0, retry_us / MICRO, (tat - now_us) / MICRO)
    backlog = new_tat - now_us
    return new_tat, RateDecision(True, (capacity - backlog) // interval, 0.0, backlog / MICRO)


def headroom(tat_us: int | None, now_us: int, rate: Rate) -> RateDecision:
    """What a check at ``now`` would find, without taking anything: ``remaining`` is how
    many calls would be admitted if they came now (one more than ``take`` reports, as
    nothing is taken), ``retry_after_s`` the wait for the first when none would be."""
    interval, capacity = rate.interval_us, rate.capacity_us
    backlog = max((tat_us or 0) - now_us, 0)
    remaining = max((capacity - backlog) // interval, 0)
    retry_us = 0 if remaining else backlog + interval - capacity
    return RateDecision(remaining > 0, remaining, retry_us / MICRO, backlog / MICRO)


def give_back(tat_us: int | None, now_us: int, rate: Rate) -> int | None:
    """The TAT after handing one call back (None: nothing to store, the key is idle)."""
    if tat_us is None or tat_us <= now_us:
        return None
    return max(tat_us - rate.interval_us, now_us)


def micros(seconds: float) -> int:
    return round(seconds * MICRO)
