"""Schedules as escalation and triage ask them: who is on call at an instant,
and where nobody is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.builders import actor_of, make_schedule, make_user
from tocsin.clock import ManualClock
from tocsin.domain import schedules as rules
from tocsin.domain.access import SYSTEM
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import ical, insights, people, schedule_edits, schedules
from tocsin.services.context import Context
from tocsin.store.models import AuditRecord, User


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_on_call_at_follows_the_daily_rotation(ctx: Context) -> None:
    """Each member takes a day in turn, handing off at 09:00."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann, bob])

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(1, 9)) == [ann.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 8, 59)) == [ann.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 9)) == [bob.id]
        assert schedules.on_call_at(session, schedule_id, _at(3, 9)) == [ann.id]


def test_on_call_at_is_empty_before_the_rotation_starts(ctx: Context) -> None:
    """Before the first handoff nobody is on call: a gap, not an error."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(1, 8)) == []
        found = schedules.gaps(session, schedule_id, _at(1, 0), _at(2, 0))

    assert found == [(_at(1, 0), _at(1, 9))]


def test_an_override_wins_and_leaves_the_shifts_around_it(ctx: Context) -> None:
    """An override covers its span only; the rotation resumes at its end."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    carol = make_user(ctx, "carol@example.com")
    schedule_id = make_schedule(ctx, members=[ann, bob])
    schedule_edits.add_override(
        ctx, SYSTEM, schedule_id, user_id=carol.id, start=_at(2, 12), end=_at(2, 14)
    )

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(2, 11)) == [bob.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 12)) == [carol.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 14)) == [bob.id]


def test_a_deactivated_member_is_never_on_call(ctx: Context) -> None:
    """A deactivated user's shifts are gaps, so nobody pages them."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    with ctx.db.write() as session:
        session.scalars(select(User).where(User.id == ann.id)).one().active = False

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(2, 12)) == []
        assert schedules.gaps(session, schedule_id, _at(2, 0), _at(3, 0)) == [
            (_at(2, 0), _at(3, 0))
        ]


def test_an_unknown_schedule_is_not_found(ctx: Context) -> None:
    """Asking about a schedule that does not exist raises NotFound."""
    with ctx.db.read() as session, pytest.raises(NotFound):
        schedules.on_call_at(session, 999, _at(2, 9))


def test_gaps_refuses_an_empty_range(ctx: Context) -> None:
    """A range whose end is not after its start is bad input."""
    schedule_id = make_schedule(ctx)

    with ctx.db.read() as session, pytest.raises(InvalidInput):
        schedules.gaps(session, schedule_id, _at(2, 9), _at(2, 9))


def test_editing_a_rotation_keeps_the_past(ctx: Context) -> None:
    """A member added from an instant on changes renders after it only."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    carol = make_user(ctx, "carol@example.com")
    schedule_id = make_schedule(ctx, members=[ann, bob])
    [layer] = schedules.get_schedule(ctx, SYSTEM, schedule_id).layers
    change = ctx.clock.now() + timedelta(days=3)
    before = schedules.timeline(ctx, SYSTEM, schedule_id, _at(1, 0), change)

    schedule_edits.edit_layer(
        ctx,
        SYSTEM,
        schedule_id,
        layer.id,
        schedule_edits.LayerInput(
            name="Primary",
            members=(ann.id, bob.id, carol.id),
            shift_unit="days",
            shift_count=1,
            start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
        ),
        effective_from=change,
    )
    after = schedules.timeline(ctx, SYSTEM, schedule_id, _at(1, 0), change)

    assert after.spans == before.spans
    with ctx.db.read() as session:
        # 2026-03-09 09:00 is shift 8: 8 % 3 = 2 is Carol, where the old
        # rotation had 8 % 2 = 0, Ann.
        assert schedules.on_call_at(session, schedule_id, _at(9, 10)) == [carol.id]
        audited = session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_id == schedule_id)
        ).all()
    assert "schedule.layer.edit" in audited


def test_only_the_team_and_admins_change_a_schedule(ctx: Context) -> None:
    """A viewer of the team is refused, another team does not see it, and a
    responder of the team may change it."""
    ann = make_user(ctx, "ann@example.com", teams=("Ops",))
    vera = make_user(ctx, "vera@example.com", role="viewer", teams=("Ops",))
    pete = make_user(ctx, "pete@example.com", teams=("Payments",))
    schedule_id = make_schedule(ctx, members=[ann])

    with pytest.raises(Forbidden):
        schedule_edits.update_schedule(
            ctx, actor_of(ctx, vera), schedule_id, name="Mine"
        )
    with pytest.raises(NotFound):
        schedules.get_schedule(ctx, actor_of(ctx, pete), schedule_id)
    renamed = schedule_edits.update_schedule(
        ctx, actor_of(ctx, ann), schedule_id, name="Ops first line"
    )

    assert renamed.name == "Ops first line"
    assert schedules.get_schedule(ctx, actor_of(ctx, vera), schedule_id).layers


def test_removing_a_layer_keeps_its_past(ctx: Context, clock: ManualClock) -> None:
    """After removal the layer has nobody; renders before it still show it."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    [layer] = schedules.get_schedule(ctx, SYSTEM, schedule_id).layers

    schedule_edits.remove_layer(ctx, SYSTEM, schedule_id, layer.id)

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(2, 8)) == [ann.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 10)) == []
    assert schedules.get_schedule(ctx, SYSTEM, schedule_id).layers == []


def test_cancelling_an_override_under_way_ends_it_now(
    ctx: Context, clock: ManualClock
) -> None:
    """The part already served stays; the rest goes back to the rotation."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    made = schedule_edits.add_override(
        ctx, SYSTEM, schedule_id, user_id=bob.id, start=_at(2, 9), end=_at(2, 17)
    )
    clock.set(_at(2, 12))

    schedule_edits.remove_override(ctx, SYSTEM, schedule_id, made.overrides[0].id)

    with ctx.db.read() as session:
        assert schedules.on_call_at(session, schedule_id, _at(2, 11)) == [bob.id]
        assert schedules.on_call_at(session, schedule_id, _at(2, 13)) == [ann.id]
    with pytest.raises(Conflict):
        schedule_edits.remove_override(ctx, SYSTEM, schedule_id, made.overrides[0].id)


def test_a_deactivated_user_cannot_join_a_rotation(ctx: Context) -> None:
    """Adding a deactivated user is bad input and stores no layer."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx)
    with ctx.db.write() as session:
        session.scalars(select(User).where(User.id == ann.id)).one().active = False

    with pytest.raises(InvalidInput):
        schedule_edits.add_layer(
            ctx,
            SYSTEM,
            schedule_id,
            schedule_edits.LayerInput(
                name="Primary",
                members=(ann.id,),
                shift_unit="days",
                shift_count=1,
                start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
            ),
        )
    assert schedules.get_schedule(ctx, SYSTEM, schedule_id).layers == []


def test_a_second_change_must_follow_the_planned_one(ctx: Context) -> None:
    """Versions stay in order: a change before one already planned is refused."""
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    [layer] = schedules.get_schedule(ctx, SYSTEM, schedule_id).layers
    rotation = schedule_edits.LayerInput(
        name="Primary",
        members=(ann.id,),
        shift_unit="weeks",
        shift_count=1,
        start_local=datetime(2026, 3, 1, 9, 0),  # noqa: DTZ001
    )
    later = ctx.clock.now() + timedelta(days=7)
    schedule_edits.edit_layer(
        ctx, SYSTEM, schedule_id, layer.id, rotation, effective_from=later
    )

    with pytest.raises(InvalidInput):
        schedule_edits.edit_layer(ctx, SYSTEM, schedule_id, layer.id, rotation)
    [shown] = schedules.get_schedule(ctx, SYSTEM, schedule_id).layers
    assert [v.effective_from for v in shown.upcoming] == [later]


def test_who_is_on_call_says_until_when(ctx: Context) -> None:
    """An empty schedule has nobody with no end in sight; an override ahead
    ends the gap at its start."""
    bob = make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx)

    empty = schedules.who_is_on_call(ctx, SYSTEM, schedule_id)
    schedule_edits.add_override(
        ctx, SYSTEM, schedule_id, user_id=bob.id, start=_at(20, 9), end=_at(21, 9)
    )
    waiting = schedules.who_is_on_call(ctx, SYSTEM, schedule_id)
    covered = schedules.who_is_on_call(ctx, SYSTEM, schedule_id, _at(20, 12))

    assert (empty.users, empty.until) == ([], None)
    assert (waiting.users, waiting.until) == ([], _at(20, 9))
    assert ([u.id for u in covered.users], covered.until) == ([bob.id], _at(21, 9))


def test_a_stored_london_office_hours_layer_renders_across_the_spring_change(
    ctx: Context,
) -> None:
    """Restrictions and local starts survive the database: weekday office hours
    above a 24/7 layer, 09:00 local before and after the clocks go forward."""
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann], time_zone="Europe/London")
    schedule_edits.add_layer(
        ctx,
        SYSTEM,
        schedule_id,
        schedule_edits.LayerInput(
            name="Office hours",
            members=(bob.id,),
            shift_unit="weeks",
            shift_count=1,
            start_local=datetime(2026, 3, 2, 0, 0),  # noqa: DTZ001
            restrictions=(rules.parse_restriction("mon-fri 09:00-17:00"),),
        ),
    )

    with ctx.db.read() as session:
        friday = schedules.gaps(session, schedule_id, _at(27, 0), _at(28, 0))
        assert schedules.on_call_at(session, schedule_id, _at(27, 9)) == [bob.id]
        assert schedules.on_call_at(session, schedule_id, _at(30, 8)) == [bob.id]
        assert schedules.on_call_at(session, schedule_id, _at(30, 7, 59)) == [ann.id]
        assert schedules.on_call_at(session, schedule_id, _at(30, 16)) == [ann.id]
        assert schedules.on_call_at(session, schedule_id, _at(29, 12)) == [ann.id]
    assert friday == []


@pytest.mark.parametrize("name", ["²", "٣", "99999999999"])
def test_find_by_a_name_of_digits_that_are_no_id_is_not_found(
    ctx: Context, name: str
) -> None:
    """A name of Unicode digits or too many digits is NotFound, not a crash."""
    make_schedule(ctx)

    with pytest.raises(NotFound):
        schedules.find(ctx, SYSTEM, name)


def _past_events(document: bytes, now: datetime) -> list[tuple[str, str, str]]:
    calendar = Calendar.from_ical(document)
    return sorted(
        (str(e["uid"]), e.decoded("dtstart").isoformat(), str(e["summary"]))
        for e in calendar.walk("VEVENT")
        if e.decoded("dtend").astimezone(UTC) <= now
    )


def test_deactivating_a_member_keeps_their_past_and_empties_their_future(
    ctx: Context, clock: ManualClock
) -> None:
    """The timeline, a schedule's iCal feed and the hours on call in insights
    before the deactivation are the same after it; from it on the member's
    shifts are gaps, and nobody pages them."""
    admin = make_user(ctx, "ada@example.com", role="admin")
    ann, bob = make_user(ctx, "ann@example.com"), make_user(ctx, "bob@example.com")
    schedule_id = make_schedule(ctx, members=[ann, bob])
    made = ical.create_feed(ctx, SYSTEM, user_id=bob.id, schedule_id=schedule_id)
    token = made.url.rsplit("/", 1)[1].removesuffix(".ics")
    clock.set(_at(10, 12))
    now = clock.now()
    period = insights.InsightFilter(since=_at(1, 0), until=now)

    def hours(user_id: int) -> float:
        loads = insights.compute(ctx, SYSTEM, period).on_call
        return next((row.hours_on_call for row in loads if row.user_id == user_id), 0)

    past = schedules.timeline(ctx, SYSTEM, schedule_id, _at(1, 0), now)
    events = _past_events(ical.calendar(ctx, token), now)
    hours_before = hours(ann.id)

    people.set_active(ctx, actor_of(ctx, admin), ann.id, False)

    assert schedules.timeline(ctx, SYSTEM, schedule_id, _at(1, 0), now) == past
    assert _past_events(ical.calendar(ctx, token), now) == events
    assert hours(ann.id) == hours_before > 0
    # Bob has the day to 11 March 09:00; Ann's shifts from then on are gaps.
    ahead = schedules.timeline(ctx, SYSTEM, schedule_id, now, _at(13, 9)).spans
    assert [(s.start, s.end, s.user and s.user.id) for s in ahead] == [
        (now, _at(11, 9), bob.id),
        (_at(11, 9), _at(12, 9), None),
        (_at(12, 9), _at(13, 9), bob.id),
    ]
    [yesterday] = schedules.timeline(
        ctx, SYSTEM, schedule_id, _at(9, 9), _at(10, 9)
    ).spans
    assert yesterday.user is not None
    assert yesterday.user.id == ann.id
    with ctx.db.read() as session:
        # Paging never reaches a deactivated user, even when asked about an
        # instant of their past shift (a late timer).
        assert schedules.on_call_at(session, schedule_id, _at(9, 12)) == []


def test_reactivating_clears_the_deactivation_stamp(
    ctx: Context, clock: ManualClock
) -> None:
    """Deactivation stamps the instant; reactivation clears it and the member
    is on call again."""
    admin = actor_of(ctx, make_user(ctx, "ada@example.com", role="admin"))
    ann = make_user(ctx, "ann@example.com")
    schedule_id = make_schedule(ctx, members=[ann])
    clock.set(_at(10, 12))

    people.set_active(ctx, admin, ann.id, False)
    with ctx.db.read() as session:
        assert session.get(User, ann.id).deactivated_at == _at(10, 12)  # type: ignore[union-attr]

    people.set_active(ctx, admin, ann.id, True)
    with ctx.db.read() as session:
        assert session.get(User, ann.id).deactivated_at is None  # type: ignore[union-attr]
        assert schedules.on_call_at(session, schedule_id, _at(10, 12)) == [ann.id]
