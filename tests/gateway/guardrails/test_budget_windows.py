"""Budget windows tile the calendar of their time zone, and the config refuses windows
that cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.config.guardrails import BudgetConfig
from gateway.guardrails.budget_windows import BudgetCalendar
from tests.conftest import TEST_CONFIG, make_config


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def calendar(**fields: object) -> BudgetCalendar:
    config = BudgetConfig.model_validate({"id": "b", "limit": 1, **fields})
    return BudgetCalendar.from_config(config)


def test_a_day_starts_at_the_reset_time_in_its_zone_through_the_clock_change() -> None:
    berlin = calendar(window="24h", resets="06:00", timezone="Europe/Berlin")
    before_reset = berlin.window_at(at("2026-10-25T04:59:59"))  # 05:59:59 CET, before the reset
    assert before_reset.id == "2026-10-24T04:00:00Z"  # 06:00 CEST
    fall_day = berlin.window_at(at("2026-10-25T05:00:00"))  # 06:00 CET: clocks went back
    assert fall_day.id == "2026-10-25T05:00:00Z"
    assert fall_day.ends_at == at("2026-10-26T05:00:00")
    assert before_reset.ends_at == at("2026-10-25T05:00:00")  # a 25-hour day


def test_shorter_windows_tile_the_day_and_the_last_one_stops_at_the_next_day() -> None:
    quarter_days = calendar(window="6h")
    window = quarter_days.window_at(at("2026-11-30T13:30:00"))
    assert (window.id, window.ends_at) == ("2026-11-30T12:00:00Z", at("2026-11-30T18:00:00"))
    berlin = calendar(window="1h", timezone="Europe/Berlin")
    # 2026-03-29 has 23 hours in Berlin: 01:15 UTC is 03:15 CEST, in the day's third hour
    window = berlin.window_at(at("2026-03-29T01:15:00"))
    assert (window.id, window.ends_at) == ("2026-03-29T01:00:00Z", at("2026-03-29T02:00:00"))


def test_a_week_runs_monday_to_monday() -> None:
    weekly = calendar(window="7d")
    window = weekly.window_at(at("2026-12-03T10:00:00"))  # a Thursday
    assert (window.id, window.ends_at) == ("2026-11-30T00:00:00Z", at("2026-12-07T00:00:00"))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ("window: 7h", "neither divides a day"),
        ("window: 36h", "neither divides a day"),
        ("timezone: Mars/Olympus", "not an IANA time zone"),
        ("resets: '24:00'", "String should match pattern"),
        ("limit: 0.0000001", "decimal places"),
    ],
)
def test_budget_windows_that_do_not_tile_the_calendar_are_refused(
    fields: str, problem: str, tmp_path: Path
) -> None:
    section = "guardrails:\n  budgets:\n    - {id: b, limit: 5, " + fields + "}\n"
    section = section.replace("limit: 5, limit:", "limit:")
    with pytest.raises(ConfigError, match=problem):
        make_config("http://127.0.0.1:1", tmp_path / "a.sqlite", TEST_CONFIG + section)
