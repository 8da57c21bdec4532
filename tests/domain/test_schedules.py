"""Schedule rendering by example: handoffs on the local wall clock across DST
changes in both directions, half-hour zones, restrictions, versions and
overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from tocsin.domain import schedules as rules
from tocsin.errors import InvalidInput


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _local(*args: int) -> datetime:
    return datetime(*args)  # type: ignore[misc]  # noqa: DTZ001


def _schedule(
    zone: str,
    rotation: rules.Rotation,
    *,
    overrides: tuple[rules.Override, ...] = (),
) -> rules.Schedule:
    layer = rules.Layer(1, (rules.RotationVersion(None, rotation),))
    return rules.Schedule(rules.zone_named(zone), (layer,), overrides)


def _daily(start: datetime, *members: int, count: int = 1) -> rules.Rotation:
    return rules.Rotation(members or (1, 2), rules.ShiftUnit.DAYS, count, start)


def _handoffs(schedule: rules.Schedule, start: datetime, end: datetime) -> list:
    return [span.start for span in rules.render(schedule, start, end)[1:]]


def test_london_daily_handoff_stays_at_nine_across_both_changes() -> None:
    """At 09:00 local all year: 09:00Z in winter, 08:00Z in summer; the shifts
    around each change last 23 and 25 hours, as the wall clock says."""
    schedule = _schedule("Europe/London", _daily(_local(2026, 3, 1, 9, 0)))

    spring = _handoffs(schedule, _utc(2026, 3, 27), _utc(2026, 3, 31))
    autumn = _handoffs(schedule, _utc(2026, 10, 23), _utc(2026, 10, 27))

    assert spring == [
        _utc(2026, 3, 27, 9),
        _utc(2026, 3, 28, 9),
        _utc(2026, 3, 29, 8),
        _utc(2026, 3, 30, 8),
    ]
    assert autumn == [
        _utc(2026, 10, 23, 8),
        _utc(2026, 10, 24, 8),
        _utc(2026, 10, 25, 9),
        _utc(2026, 10, 26, 9),
    ]


def test_new_york_handoff_in_the_skipped_hour_happens_when_clocks_jump() -> None:
    """02:30 does not exist on 8 March 2026 in New York: the handoff is at the
    jump, 03:00 EDT (07:00Z); the days around it keep 02:30."""
    schedule = _schedule("America/New_York", _daily(_local(2026, 3, 1, 2, 30)))

    handoffs = _handoffs(schedule, _utc(2026, 3, 7), _utc(2026, 3, 10))

    assert handoffs == [
        _utc(2026, 3, 7, 7, 30),
        _utc(2026, 3, 8, 7, 0),
        _utc(2026, 3, 9, 6, 30),
    ]


def test_new_york_handoff_in_the_repeated_hour_happens_the_first_time() -> None:
    """01:30 happens twice on 1 November 2026: the handoff is at the first,
    EDT (05:30Z), and the shift until the next day's 01:30 EST is 25 hours."""
    schedule = _schedule("America/New_York", _daily(_local(2026, 10, 1, 1, 30)))

    handoffs = _handoffs(schedule, _utc(2026, 10, 31), _utc(2026, 11, 3))

    assert handoffs == [
        _utc(2026, 10, 31, 5, 30),
        _utc(2026, 11, 1, 5, 30),
        _utc(2026, 11, 2, 6, 30),
    ]


def test_twelve_hour_shifts_follow_the_wall_clock_on_the_long_night() -> None:
    """Shifts at 08:00 and 20:00: the night the clocks go back is 13 hours."""
    rotation = rules.Rotation(
        (1, 2), rules.ShiftUnit.HOURS, 12, _local(2026, 10, 1, 8, 0)
    )
    schedule = _schedule("America/New_York", rotation)

    spans = rules.render(schedule, _utc(2026, 10, 31, 12), _utc(2026, 11, 2, 12))

    assert [(s.start, s.end - s.start) for s in spans[1:3]] == [
        (_utc(2026, 11, 1, 0), timedelta(hours=13)),
        (_utc(2026, 11, 1, 13), timedelta(hours=12)),
    ]


def test_lord_howe_half_hour_change_both_ways() -> None:
    """Lord Howe moves its clocks by 30 minutes: 02:15 is skipped on
    4 October 2026 (handoff at the jump, 02:00 +10:30) and 01:45 happens twice
    on 5 April 2026 (handoff at the first, +11:00)."""
    skipped = _schedule("Australia/Lord_Howe", _daily(_local(2026, 9, 1, 2, 15)))
    repeated = _schedule("Australia/Lord_Howe", _daily(_local(2026, 3, 1, 1, 45)))

    assert _handoffs(skipped, _utc(2026, 10, 3, 12), _utc(2026, 10, 4, 12)) == [
        _utc(2026, 10, 3, 15, 30)
    ]
    assert _handoffs(repeated, _utc(2026, 4, 4, 12), _utc(2026, 4, 5, 12)) == [
        _utc(2026, 4, 4, 14, 45)
    ]


@pytest.mark.parametrize(
    ("zone", "handoff"),
    [
        ("Asia/Kolkata", _utc(2026, 3, 4, 3, 30)),
        ("Australia/Adelaide", _utc(2026, 3, 3, 22, 30)),
        ("Asia/Kathmandu", _utc(2026, 3, 4, 3, 15)),
    ],
)
def test_half_hour_zones_hand_off_at_the_local_time(
    zone: str, handoff: datetime
) -> None:
    """09:00 in zones offset by half or quarter hours (Adelaide on summer time)."""
    schedule = _schedule(zone, _daily(_local(2026, 3, 1, 9, 0)))

    assert handoff in _handoffs(schedule, _utc(2026, 3, 3), _utc(2026, 3, 5))


def test_adelaide_weekly_handoff_across_the_april_change() -> None:
    """A weekly Monday 09:00 handoff in Adelaide: 22:30Z on summer time, 23:30Z
    after the clocks go back on 5 April 2026."""
    rotation = rules.Rotation(
        (1, 2), rules.ShiftUnit.WEEKS, 1, _local(2026, 3, 2, 9, 0)
    )
    schedule = _schedule("Australia/Adelaide", rotation)

    handoffs = _handoffs(schedule, _utc(2026, 3, 29), _utc(2026, 4, 10))

    assert handoffs == [_utc(2026, 3, 29, 22, 30), _utc(2026, 4, 5, 23, 30)]


def test_restriction_keeps_office_hours_in_local_time() -> None:
    """Weekdays 09:00-17:00 in London are 09:00Z-17:00Z in winter and 08:00Z-
    16:00Z in summer; nights and weekends are gaps."""
    office = rules.Restriction(frozenset(range(5)), time(9), time(17))
    rotation = rules.Rotation(
        (1,), rules.ShiftUnit.WEEKS, 1, _local(2026, 3, 2, 0, 0), (office,)
    )
    schedule = _schedule("Europe/London", rotation)

    friday = rules.render(schedule, _utc(2026, 3, 27), _utc(2026, 3, 28))
    monday = rules.render(schedule, _utc(2026, 3, 30), _utc(2026, 3, 31))
    sunday = rules.render(schedule, _utc(2026, 3, 29), _utc(2026, 3, 30))

    assert [(s.start, s.end) for s in friday if s.user_id] == [
        (_utc(2026, 3, 27, 9), _utc(2026, 3, 27, 17))
    ]
    assert [(s.start, s.end) for s in monday if s.user_id] == [
        (_utc(2026, 3, 30, 8), _utc(2026, 3, 30, 16))
    ]
    assert [s.user_id for s in sunday] == [None]


def test_overnight_restriction_runs_into_the_next_day() -> None:
    """A 22:00-06:00 window opening on Friday closes on Saturday morning."""
    nights = rules.Restriction(frozenset({4}), time(22), time(6))
    rotation = rules.Rotation(
        (7,), rules.ShiftUnit.DAYS, 1, _local(2026, 1, 1, 0, 0), (nights,)
    )
    schedule = _schedule("UTC", rotation)

    spans = rules.render(schedule, _utc(2026, 3, 6), _utc(2026, 3, 8))

    assert [(s.start, s.end) for s in spans if s.user_id] == [
        (_utc(2026, 3, 6, 22), _utc(2026, 3, 7, 6))
    ]


def test_a_higher_layer_wins_where_it_has_someone() -> None:
    """An office-hours layer above a 24/7 layer takes the day; the lower layer
    shows through at night."""
    office = rules.Restriction(frozenset(range(7)), time(9), time(17))
    low = rules.Rotation((1,), rules.ShiftUnit.DAYS, 1, _local(2026, 1, 1, 0, 0))
    high = rules.Rotation(
        (2,), rules.ShiftUnit.DAYS, 1, _local(2026, 1, 1, 0, 0), (office,)
    )
    schedule = rules.Schedule(
        rules.zone_named("UTC"),
        (
            rules.Layer(1, (rules.RotationVersion(None, low),)),
            rules.Layer(2, (rules.RotationVersion(None, high),)),
        ),
    )

    spans = rules.render(schedule, _utc(2026, 3, 2), _utc(2026, 3, 3))

    assert [(s.start.hour, s.user_id) for s in spans] == [(0, 1), (9, 2), (17, 1)]


def test_overrides_win_and_the_later_one_wins_where_they_overlap() -> None:
    """Override 2 (made later) beats override 1 where both cover; the rotation
    resumes where neither does."""
    schedule = _schedule(
        "UTC",
        _daily(_local(2026, 3, 1, 9, 0), 1),
        overrides=(
            rules.Override(1, 8, _utc(2026, 3, 2, 10), _utc(2026, 3, 2, 14)),
            rules.Override(2, 9, _utc(2026, 3, 2, 12), _utc(2026, 3, 2, 13)),
        ),
    )

    spans = rules.render(schedule, _utc(2026, 3, 2, 9), _utc(2026, 3, 2, 15))

    assert [(s.start.hour, s.user_id) for s in spans] == [
        (9, 1),
        (10, 8),
        (12, 9),
        (13, 8),
        (14, 1),
    ]


def test_a_new_version_renders_only_from_its_instant() -> None:
    """Before a version's effective instant the old rotation renders."""
    old = _daily(_local(2026, 3, 1, 9, 0), 1, 2)
    new = _daily(_local(2026, 3, 1, 9, 0), 3)
    change = _utc(2026, 3, 4, 12)
    layer = rules.Layer(
        1, (rules.RotationVersion(None, old), rules.RotationVersion(change, new))
    )
    schedule = rules.Schedule(rules.zone_named("UTC"), (layer,))

    assert rules.on_call(schedule, change - timedelta(seconds=1)) == [2]
    assert rules.on_call(schedule, change) == [3]


def test_a_removed_layer_has_nobody_after_its_removal() -> None:
    """A layer removed at an instant leaves a gap from then on."""
    rotation = _daily(_local(2026, 3, 1, 9, 0), 1)
    removed = _utc(2026, 3, 3)
    layer = rules.Layer(1, (rules.RotationVersion(None, rotation),), removed)
    schedule = rules.Schedule(rules.zone_named("UTC"), (layer,))

    assert rules.gaps(schedule, _utc(2026, 3, 2), _utc(2026, 3, 4)) == [
        rules.Span(removed, _utc(2026, 3, 4), None)
    ]


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", "", "utc+1"])
def test_an_unknown_zone_is_refused(name: str) -> None:
    """Only IANA zone names are accepted, never a path."""
    with pytest.raises(InvalidInput):
        rules.zone_named(name)


@pytest.mark.parametrize("count", [0, -1, rules.MAX_SHIFT_COUNT + 1])
def test_a_shift_length_out_of_range_is_refused(count: int) -> None:
    """Zero, negative and huge shift lengths are bad input."""
    with pytest.raises(InvalidInput):
        rules.check_rotation(_daily(_local(2026, 3, 1, 9, 0), 1, count=count))


def test_restrictions_read_and_write_as_text() -> None:
    """`mon-fri 09:00-17:00` and friends parse and print back the same."""
    parsed = rules.parse_restriction("fri-mon 22:00-06:00")

    assert parsed.days == frozenset({4, 5, 6, 0})
    assert rules.format_restriction(parsed) == "mon,fri,sat,sun 22:00-06:00"
    assert rules.parse_days("daily") == frozenset(range(7))
    for bad in ["weekdays 09:00-17:00", "mon 9-17", "mon 25:00-26:00", "mon"]:
        with pytest.raises(InvalidInput):
            rules.parse_restriction(bad)


def test_ranges_must_be_ordered_aware_and_bounded() -> None:
    """An end before its start, a naive instant or a huge range is refused."""
    with pytest.raises(InvalidInput):
        rules.check_range(_utc(2026, 3, 2), _utc(2026, 3, 1))
    with pytest.raises(InvalidInput):
        rules.check_range(_local(2026, 3, 1, 0, 0), _utc(2026, 3, 2))
    with pytest.raises(InvalidInput):
        rules.check_range(_utc(2026, 1, 1), _utc(2028, 1, 1))


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    ],
)
def test_an_instant_at_the_ends_of_the_calendar_is_refused(value: datetime) -> None:
    """An instant whose offset pushes it past year 1 or 9999 is refused, not an
    overflow."""
    with pytest.raises(InvalidInput):
        rules.check_instant(value, "the instant")
