"""Maintenance windows as pure rules: occurrences keep local wall-clock time
across DST, an instant is covered exactly by its occurrence, and chains of
windows hold paging until the last one ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tocsin.domain.maintenance import (
    Recurrence,
    WindowRule,
    covering,
    held_until,
    next_start,
    occurrence,
)

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Adelaide", "Asia/Kolkata"]


def weekly(start: datetime, hours: float, zone: str) -> WindowRule:
    return WindowRule(
        start, start + timedelta(hours=hours), Recurrence.WEEKLY, zone, None
    )


def test_a_weekly_window_keeps_its_local_start_across_spring_forward() -> None:
    """Sunday 02:00 CET becomes Sunday 02:00 CEST: one hour earlier in UTC."""
    rule = weekly(datetime(2026, 3, 22, 1, 0, tzinfo=UTC), 2, "Europe/Berlin")

    before, _ = occurrence(rule, 0)
    after, end = occurrence(rule, 2)

    assert before == datetime(2026, 3, 22, 1, 0, tzinfo=UTC)
    assert after == datetime(2026, 4, 5, 0, 0, tzinfo=UTC)
    assert end - after == timedelta(hours=2)


def test_a_start_in_the_skipped_hour_falls_an_hour_later_on_the_wall_clock() -> None:
    """Daily 02:30 New York: on 8 March 2026 there is no 02:30; it is 03:30 EDT."""
    first = datetime(2026, 3, 7, 2, 30, tzinfo=ZoneInfo("America/New_York"))
    rule = WindowRule(
        first.astimezone(UTC),
        first.astimezone(UTC) + timedelta(minutes=30),
        Recurrence.DAILY,
        "America/New_York",
    )

    start, _ = occurrence(rule, 1)

    local = start.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (3, 30)
    assert start == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_a_start_in_the_repeated_hour_is_the_first_of_the_two() -> None:
    """Daily 01:30 New York on 1 November 2026 is 01:30 EDT (05:30 UTC)."""
    first = datetime(2026, 10, 31, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    rule = WindowRule(
        first.astimezone(UTC),
        first.astimezone(UTC) + timedelta(hours=1),
        Recurrence.DAILY,
        "America/New_York",
    )

    assert occurrence(rule, 1)[0] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@given(
    zone=st.sampled_from(ZONES),
    first=st.datetimes(
        min_value=datetime.fromisoformat("2026-01-01"),
        max_value=datetime.fromisoformat("2027-12-31"),
    ),
    hours=st.floats(min_value=0.25, max_value=100),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_an_instant_is_covered_exactly_when_an_occurrence_holds_it(
    zone: str, first: datetime, hours: float, offset: timedelta
) -> None:
    """`covering` agrees with a plain walk over the occurrences."""
    rule = weekly(first.replace(tzinfo=UTC), hours, zone)
    at = rule.starts_at + offset

    found = covering(rule, at)

    spans = [occurrence(rule, k) for k in range(0, 60)]
    holding = [s for s in spans if s[0] <= at < s[1]]
    assert found == (holding[0] if holding else None)


def test_touching_windows_hold_paging_until_the_last_ends() -> None:
    """Two back-to-back one-off windows: held until the end of the second."""
    t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rules = [
        WindowRule(t, t + timedelta(hours=1)),
        WindowRule(t + timedelta(hours=1), t + timedelta(hours=3)),
    ]

    assert held_until(rules, t + timedelta(minutes=30)) == t + timedelta(hours=3)
    assert held_until(rules, t + timedelta(hours=3)) is None
    assert held_until([], t) is None


def test_repeat_until_ends_a_recurring_window() -> None:
    """No occurrence starts at or after repeat_until."""
    t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rule = WindowRule(
        t, t + timedelta(hours=1), Recurrence.DAILY, "UTC", t + timedelta(days=2)
    )

    assert covering(rule, t + timedelta(days=1, minutes=5)) is not None
    assert covering(rule, t + timedelta(days=2, minutes=5)) is None
    assert next_start(rule, t + timedelta(hours=2)) == t + timedelta(days=1)
    assert next_start(rule, t + timedelta(days=1, hours=2)) is None
