"""Known answers for the incident metric rules in tocsin.domain.metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tocsin.domain.metrics import (
    Event,
    incident_times,
    is_night,
    overlap,
    summarize,
    week_of,
    weeks_between,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_plain_incident_durations() -> None:
    """Acknowledge, monitoring and resolve give TTA, TTM and TTR from opening."""
    times = incident_times(
        T0,
        [
            Event("paged", at(0), user_id=1),
            Event("acknowledged", at(4), user_id=1),
            Event("stage_changed", at(30), stage="monitoring"),
            Event("resolved", at(45), user_id=1),
        ],
        declared_at=at(10),
    )
    assert times.to_acknowledge == timedelta(minutes=4)
    assert times.to_mitigate == timedelta(minutes=30)
    assert times.to_resolve == timedelta(minutes=45)
    assert times.to_declare == timedelta(minutes=10)
    assert times.pages == 1
    assert times.people == {1}
    assert times.reopens == 0


def test_first_acknowledgement_counts_after_a_retrigger() -> None:
    """Triggering again does not reset the time to acknowledge."""
    times = incident_times(
        T0,
        [
            Event("acknowledged", at(3), user_id=1),
            Event("retriggered", at(20)),
            Event("acknowledged", at(25), user_id=2),
            Event("resolved", at(60)),
        ],
    )
    assert times.to_acknowledge == timedelta(minutes=3)
    assert times.people == {1, 2}


def test_acknowledgement_after_resolution_is_ignored() -> None:
    """An incident resolved unacknowledged has no TTA, even if acked later."""
    times = incident_times(
        T0,
        [Event("resolved", at(10)), Event("acknowledged", at(12), user_id=1)],
    )
    assert times.to_acknowledge is None
    assert times.to_resolve == timedelta(minutes=10)
    assert times.to_mitigate == timedelta(minutes=10)


def test_reopened_incident_counts_to_final_resolution() -> None:
    """A reopen clears the resolution; the last resolution is the TTR."""
    times = incident_times(
        T0,
        [
            Event("acknowledged", at(5)),
            Event("resolved", at(20)),
            Event("stage_changed", at(40), stage="investigating"),
            Event("stage_changed", at(50), stage="monitoring"),
            Event("resolved", at(90)),
        ],
    )
    assert times.reopens == 1
    assert times.to_resolve == timedelta(minutes=90)
    # Mitigation is the first monitoring, even though it came after a reopen.
    assert times.to_mitigate == timedelta(minutes=50)


def test_reopened_and_still_open_has_no_resolution() -> None:
    """An incident reopened after resolving has no TTR until resolved again."""
    times = incident_times(T0, [Event("resolved", at(20)), Event("reopened", at(30))])
    assert times.reopens == 1
    assert times.to_resolve is None
    assert times.to_mitigate == timedelta(minutes=20)


def test_durations_across_a_dst_change_are_real_time() -> None:
    """An incident over the London spring-forward lasts its real 2 hours."""
    london = ZoneInfo("Europe/London")
    opened = datetime(2026, 3, 29, 0, 30, tzinfo=london)  # GMT
    resolved = datetime(2026, 3, 29, 3, 30, tzinfo=london)  # BST
    times = incident_times(opened, [Event("resolved", resolved)])
    assert times.to_resolve == timedelta(hours=2)


def test_durations_never_go_negative() -> None:
    """A timeline entry stamped before opening gives zero, not a negative."""
    times = incident_times(T0, [Event("acknowledged", at(-1))])
    assert times.to_acknowledge == timedelta(0)


def test_summary_mean_median_p90() -> None:
    """Mean, median and nearest-rank p90 of ten known values."""
    values = [timedelta(minutes=m) for m in (1, 2, 3, 4, 5, 6, 7, 8, 9, 100)]
    summary = summarize([*values, None])
    assert summary.count == 10
    assert summary.mean == timedelta(minutes=14.5)
    assert summary.median == timedelta(minutes=5.5)
    assert summary.p90 == timedelta(minutes=9)


def test_summary_of_odd_count_and_nothing() -> None:
    """An odd count's median is the middle value; nothing gives Nones."""
    summary = summarize([timedelta(minutes=m) for m in (9, 1, 5)])
    assert summary.median == timedelta(minutes=5)
    assert summary.p90 == timedelta(minutes=9)
    assert summarize([None]).mean is None


def test_night_follows_the_local_wall_clock_across_dst() -> None:
    """23:30 local is night in winter and summer; 07:30 local is not."""
    berlin = ZoneInfo("Europe/Berlin")
    assert is_night(datetime(2026, 1, 10, 22, 30, tzinfo=UTC), berlin)  # 23:30
    assert is_night(datetime(2026, 7, 10, 21, 30, tzinfo=UTC), berlin)  # 23:30
    assert not is_night(datetime(2026, 7, 10, 5, 30, tzinfo=UTC), berlin)  # 07:30
    assert is_night(datetime(2026, 1, 10, 5, 30, tzinfo=UTC), berlin)  # 06:30


def test_weeks_start_on_monday_and_none_go_missing() -> None:
    """Weeks run Monday to Sunday and every week in a range is listed."""
    sunday = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    assert week_of(sunday).isoformat() == "2026-03-02"
    weeks = weeks_between(T0, T0 + timedelta(days=20))
    assert [w.isoformat() for w in weeks] == ["2026-03-02", "2026-03-09", "2026-03-16"]


def test_overlap_counts_covered_time_once() -> None:
    """Overlapping spans cover their union, clipped to the range."""
    spans = [(at(0), at(60)), (at(30), at(90)), (at(200), at(300))]
    assert overlap(spans, at(10), at(250)) == timedelta(minutes=130)
