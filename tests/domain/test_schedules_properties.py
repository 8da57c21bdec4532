"""Properties of schedule rendering over random rotations, zones, restrictions,
versions and overrides (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tocsin.domain import schedules as rules

# Zones with DST both ways, half-hour offsets, a half-hour DST shift, a
# quarter-hour offset, and none at all.
ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
]
USERS = st.integers(min_value=1, max_value=6)
# Whole minutes across 2025-2027, read on a wall clock.
LOCAL = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
).map(lambda d: d.replace(second=0, microsecond=0))
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def rotations(draw: st.DrawFn) -> rules.Rotation:
    unit = draw(st.sampled_from(list(rules.ShiftUnit)))
    most = {"hours": 48, "days": 10, "weeks": 3}[unit]
    restrictions = draw(
        st.lists(
            st.builds(
                rules.Restriction,
                st.frozensets(st.integers(0, 6), min_size=1),
                TIMES,
                TIMES,
            ),
            max_size=2,
        )
    )
    return rules.Rotation(
        members=tuple(draw(st.lists(USERS, min_size=1, max_size=4))),
        unit=unit,
        count=draw(st.integers(1, most)),
        start_local=draw(LOCAL),
        restrictions=tuple(restrictions),
    )


@st.composite
def layers(draw: st.DrawFn, layer_id: int) -> rules.Layer:
    first = draw(rotations())
    versions = [rules.RotationVersion(None, first)]
    for change in sorted(draw(st.lists(INSTANTS, max_size=2, unique=True))):
        versions.append(rules.RotationVersion(change, draw(rotations())))
    return rules.Layer(layer_id, tuple(versions))


@st.composite
def overrides(draw: st.DrawFn, override_id: int) -> rules.Override:
    start = draw(INSTANTS)
    hours = draw(st.integers(1, 24 * 10))
    return rules.Override(
        override_id, draw(USERS), start, start + timedelta(hours=hours)
    )


@st.composite
def schedules(draw: st.DrawFn) -> rules.Schedule:
    count = draw(st.integers(1, 3))
    drawn_overrides = draw(st.integers(0, 3))
    return rules.Schedule(
        zone=rules.zone_named(draw(st.sampled_from(ZONES))),
        layers=tuple(draw(layers(n)) for n in range(count)),
        overrides=tuple(draw(overrides(n)) for n in range(drawn_overrides)),
        deactivated=draw(st.dictionaries(USERS, INSTANTS, max_size=2)),
    )


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = draw(INSTANTS)
    return start, start + timedelta(hours=draw(st.integers(1, 24 * 21)))


def _covering(spans: list[rules.Span], at: datetime) -> list[rules.Span]:
    return [span for span in spans if span.start <= at < span.end]


@settings(max_examples=150, deadline=None)
@given(schedules(), ranges())
def test_the_timeline_is_contiguous_and_never_overlaps(
    schedule: rules.Schedule, span: tuple[datetime, datetime]
) -> None:
    """Spans cover the range end to end, each non-empty, neighbours distinct."""
    start, end = span
    timeline = rules.render(schedule, start, end)

    assert timeline[0].start == start
    assert timeline[-1].end == end
    for before, after in pairwise(timeline):
        assert before.end == after.start
        assert before.user_id != after.user_id
    assert all(s.start < s.end for s in timeline)


@settings(max_examples=150, deadline=None)
@given(schedules(), ranges(), st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_each_instant_has_at_most_one_person_per_layer_and_the_right_winner(
    schedule: rules.Schedule,
    span: tuple[datetime, datetime],
    fractions: list[float],
) -> None:
    """Per layer at most one shift covers an instant; the final timeline shows
    the latest override covering it, else the highest layer with someone, a
    user deactivated by then counting as nobody."""
    start, end = span
    timeline = rules.render(schedule, start, end)
    per_layer = [
        rules.layer_spans(layer, schedule.zone, start, end) for layer in schedule.layers
    ]

    for fraction in fractions:
        at = start + (end - start) * fraction
        at = min(at.replace(microsecond=0), end - timedelta(seconds=1))
        covering_layers = [_covering(spans, at) for spans in per_layer]
        assert all(len(found) <= 1 for found in covering_layers)

        def available(user_id: int | None, at: datetime = at) -> bool:
            since = schedule.deactivated.get(user_id) if user_id else None
            return since is None or at < since

        overriding = [
            o
            for o in schedule.overrides
            if o.start <= at < o.end and available(o.user_id)
        ]
        if overriding:
            expected = max(overriding, key=lambda o: o.id).user_id
        else:
            from_layers = [
                found[0].user_id
                for found in covering_layers
                if found and available(found[0].user_id)
            ]
            expected = from_layers[-1] if from_layers else None
        [final] = _covering(timeline, at)
        assert final.user_id == expected
        assert rules.on_call(schedule, at) == ([] if expected is None else [expected])


@settings(max_examples=150, deadline=None)
@given(rotations(), st.sampled_from(ZONES), ranges())
def test_handoffs_happen_at_the_configured_local_time(
    rotation: rules.Rotation, zone_name: str, span: tuple[datetime, datetime]
) -> None:
    """Every handoff (without restrictions) is the handoff rule applied to
    start + k * length on the wall clock: the local time itself, or the jump
    over it when the clocks skip it."""
    zone = rules.zone_named(zone_name)
    plain = rules.Rotation(
        rotation.members, rotation.unit, rotation.count, rotation.start_local
    )
    start, end = span
    shifts = rules.rotation_shifts(plain, zone, start, end)

    for shift in shifts:
        if shift.start == start:
            continue
        local = rules.to_local(shift.start, zone)
        steps = (local - plain.start_local) // plain.length
        candidates = {
            rules.resolve_local(plain.start_local + k * plain.length, zone)
            for k in (steps - 1, steps, steps + 1)
            if k >= 0
        }
        assert shift.start in candidates
        if plain.unit is not rules.ShiftUnit.HOURS:
            # A daily or weekly handoff is at the handoff time, unless the
            # clocks jumped over it at that very instant.
            jumped = (
                shift.start.astimezone(zone).utcoffset()
                != (shift.start - timedelta(seconds=1)).astimezone(zone).utcoffset()
            )
            assert local.time() == plain.start_local.time() or jumped


@settings(max_examples=300, deadline=None)
@given(LOCAL, LOCAL, st.sampled_from(ZONES))
def test_the_handoff_rule_keeps_order_and_reads_back(
    first: datetime, second: datetime, zone_name: str
) -> None:
    """Later local times never resolve to earlier instants, and a resolved
    instant reads the local time itself, or later only when it was skipped."""
    zone = rules.zone_named(zone_name)
    early, late = sorted((first, second))

    assert rules.resolve_local(early, zone) <= rules.resolve_local(late, zone)
    instant = rules.resolve_local(early, zone)
    assert rules.to_local(instant, zone) >= early
    assert rules.to_local(instant - timedelta(seconds=1), zone) < early


def _who(spans: list[rules.Span], at: datetime) -> int | None:
    [span] = _covering(spans, at)
    return span.user_id


@settings(max_examples=100, deadline=None)
@given(schedules(), ranges(), st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_overrides_leave_every_other_instant_as_it_was(
    schedule: rules.Schedule,
    span: tuple[datetime, datetime],
    fractions: list[float],
) -> None:
    """Outside every override the timeline is the one without overrides."""
    start, end = span
    with_overrides = rules.render(schedule, start, end)
    plain = rules.Schedule(
        schedule.zone, schedule.layers, deactivated=schedule.deactivated
    )
    without = rules.render(plain, start, end)

    for fraction in fractions:
        at = min((start + (end - start) * fraction).replace(microsecond=0), end)
        at = min(at, end - timedelta(seconds=1))
        if any(o.start <= at < o.end for o in schedule.overrides):
            continue
        assert _who(with_overrides, at) == _who(without, at)


@settings(max_examples=100, deadline=None)
@given(schedules(), ranges(), st.floats(0.01, 0.99))
def test_rendering_a_range_in_two_parts_gives_the_same_timeline(
    schedule: rules.Schedule, span: tuple[datetime, datetime], fraction: float
) -> None:
    """Where a render starts or stops never changes who is on call: the two
    halves, joined, are the whole."""
    start, end = span
    middle = (start + (end - start) * fraction).replace(microsecond=0)
    assume(start < middle < end)

    whole = rules.render(schedule, start, end)
    joined = rules.render(schedule, start, middle) + rules.render(schedule, middle, end)
    merged: list[rules.Span] = []
    for part in joined:
        if merged and merged[-1].user_id == part.user_id:
            merged[-1] = rules.Span(merged[-1].start, part.end, part.user_id)
        else:
            merged.append(part)

    assert merged == whole


@settings(max_examples=100, deadline=None)
@given(schedules(), rotations(), ranges(), st.floats(0.01, 0.99))
def test_a_new_version_never_changes_the_past(
    schedule: rules.Schedule,
    rotation: rules.Rotation,
    span: tuple[datetime, datetime],
    fraction: float,
) -> None:
    """Adding a version to the top layer from an instant on leaves every render
    before that instant exactly as it was."""
    start, end = span
    change = (start + (end - start) * fraction).replace(microsecond=0)
    top = schedule.layers[-1]
    latest = top.versions[-1].effective_from
    assume(start < change and (latest is None or latest < change))

    edited = rules.Layer(
        top.id, (*top.versions, rules.RotationVersion(change, rotation))
    )
    after = rules.Schedule(
        schedule.zone,
        (*schedule.layers[:-1], edited),
        schedule.overrides,
        schedule.deactivated,
    )

    assert rules.render(after, start, change) == rules.render(schedule, start, change)


def _deactivating(
    schedule: rules.Schedule, user_id: int, at: datetime
) -> rules.Schedule:
    deactivated = {**schedule.deactivated, user_id: at}
    return rules.Schedule(
        schedule.zone, schedule.layers, schedule.overrides, deactivated
    )


@settings(max_examples=150, deadline=None)
@given(schedules(), ranges(), st.floats(0.01, 0.99), USERS)
def test_deactivating_a_member_never_changes_the_past(
    schedule: rules.Schedule,
    span: tuple[datetime, datetime],
    fraction: float,
    user_id: int,
) -> None:
    """Deactivating a user at an instant leaves every render before it exactly
    as it was, whether the render stops there or runs on past it."""
    start, end = span
    change = (start + (end - start) * fraction).replace(microsecond=0)
    earlier = schedule.deactivated.get(user_id)
    assume(start < change and (earlier is None or earlier > change))

    after = _deactivating(schedule, user_id, change)

    assert rules.render(after, start, change) == rules.render(schedule, start, change)
    running_on = rules.render(after, start, end)
    for at in (start, change - timedelta(seconds=1)):
        assert _who(running_on, at) == _who(rules.render(schedule, start, end), at)


@settings(max_examples=150, deadline=None)
@given(schedules(), ranges(), st.floats(0.01, 0.99), USERS)
def test_from_their_deactivation_on_a_user_is_nobody(
    schedule: rules.Schedule,
    span: tuple[datetime, datetime],
    fraction: float,
    user_id: int,
) -> None:
    """From the deactivation on, the timeline is the one in which the user was
    never available: a lower layer or a gap takes their place."""
    start, end = span
    change = (start + (end - start) * fraction).replace(microsecond=0)
    assume(start < change)

    after = rules.render(_deactivating(schedule, user_id, change), change, end)
    never = rules.render(_deactivating(schedule, user_id, rules.EARLIEST), change, end)

    assert after == never
    assert user_id not in {span.user_id for span in after}
