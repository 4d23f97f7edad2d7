"""Fixed budget windows aligned to the calendar of a time zone.

A budget's total lives in one window at a time, so the store keeps one number per key
however many calls it counts, and everyone can be told when it resets. Days start at
the configured local time (``resets``) in the configured zone, so a day has 23 or 25
hours when the clocks change. A window shorter than a day tiles the day from its start
(the last window of a 23-hour day is cut short at the next day's start); a window of
``n`` whole days starts on a day counted from Monday 1970-01-05, so ``7d`` runs from
Monday to Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.config.guardrails import BudgetConfig
from gateway.state.store import BudgetWindow

_DAY_S = 86400
_FIRST_MONDAY = date(1970, 1, 5)


@dataclass(frozen=True, slots=True)
class BudgetCalendar:
    window_s: int
    resets: time
    zone: ZoneInfo

    @classmethod
    def from_config(cls, config: BudgetConfig) -> BudgetCalendar:
        hour, minute = config.resets.split(":")
        return cls(int(config.window), time(int(hour), int(minute)), ZoneInfo(config.timezone))

    def _day_start(self, day: date) -> float:
        return datetime.combine(day, self.resets, tzinfo=self.zone).timestamp()

    def window_at(self, now: float) -> BudgetWindow:
        """The window ``now`` (seconds since the epoch) falls in."""
        start, end = self.span_at(now)
        return BudgetWindow(iso_utc(start), end)

    def span_at(self, now: float) -> tuple[float, float]:
        """The start and end (seconds since the epoch) of the window ``now`` falls in."""
        day = datetime.fromtimestamp(now, self.zone).date()
        while self._day_start(day) > now:  # before today's reset (or a skipped local time)
            day -= timedelta(days=1)
        if self.window_s >= _DAY_S:
            days = self.window_s // _DAY_S
            first = day - timedelta(days=(day - _FIRST_MONDAY).days % days)
            start = self._day_start(first)
            end = self._day_start(first + timedelta(days=days))
        else:
            day_start = self._day_start(day)
            start = day_start + (now - day_start) // self.window_s * self.window_s
            end = min(start + self.window_s, self._day_start(day + timedelta(days=1)))
        return start, end


def iso_utc(seconds: float) -> str:
    """``2026-11-30T23:00:00Z``: a moment as people and machines both read it."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
