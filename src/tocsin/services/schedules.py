"""On-call schedules: who is on call when, set up and edited without ever
rewriting who was on call in the past.

`on_call_at` and `gaps` take the caller's session, so escalation and triage
can ask inside their own transactions. Every other function is a use case with
its own transaction, authorised and audited. The rendering rules themselves
are pure and live in tocsin.domain.schedules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tocsin.digits import plain_digits
from tocsin.domain import schedules as rules
from tocsin.domain.access import Actor, can_see_team
from tocsin.errors import NotFound
from tocsin.schemas import UserRef
from tocsin.services.context import Context
from tocsin.services.schedule_reads import (
    LayerRead,
    OnCallRead,
    OverrideRead,
    RestrictionRead,
    RotationRead,
    ScheduleDetail,
    ScheduleRead,
    SpanRead,
    TimelineRead,
)
from tocsin.store.models import (
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ScheduleRotation,
    Team,
    User,
)

# How far ahead `who_is_on_call` looks for the next change.
LOOKAHEAD = timedelta(days=400)


# Asked by escalation and triage -----------------------------------------------


def on_call_at(session: Session, schedule_id: int, at: datetime) -> list[int]:
    """The ids of the users on call on the schedule at `at`, after layers and
    overrides: one user, or an empty list when nobody is (a gap).
    This is who to page: a deactivated user is never on call here, even at an
    instant before their deactivation. Raises NotFound."""
    at = rules.check_instant(at, "the instant")
    schedule = load(session, schedule_id, at, at + timedelta(seconds=1), paging=True)
    return rules.on_call(schedule, at)


def gaps(
    session: Session, schedule_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans of [start, end) in which nobody is on call, in order.
    Raises NotFound, or InvalidInput for an empty or overlong range."""
    start, end = rules.check_range(start, end)
    schedule = load(session, schedule_id, start, end)
    return [(span.start, span.end) for span in rules.gaps(schedule, start, end)]


def load(
    session: Session,
    schedule_id: int,
    start: datetime,
    end: datetime,
    *,
    paging: bool = False,
) -> rules.Schedule:
    """The schedule's rules, with the overrides that touch [start, end).

    A deactivated user counts as on call before their `deactivated_at` and as
    nobody from it on, so the past renders as it was. One without the stamp
    (deactivated before migration 0013, with no audit record saying when)
    counts as nobody at every instant. With `paging`, every deactivated user
    does: a late timer asking about an earlier instant must fall through to
    someone who can still be paged. Raises NotFound."""
    row = session.get(Schedule, schedule_id)
    if row is None:
        raise NotFound(f"no schedule {schedule_id}")

    layers = layer_rows(session, schedule_id)
    overrides = session.scalars(
        select(ScheduleOverride)
        .where(
            ScheduleOverride.schedule_id == schedule_id,
            ScheduleOverride.end_at > start,
            ScheduleOverride.start_at < end,
        )
        .order_by(ScheduleOverride.id)
    ).all()
    people = {m.user_id for layer in layers for v in layer.versions for m in v.members}
    people.update(o.user_id for o in overrides)
    inactive = session.execute(
        select(User.id, User.deactivated_at).where(
            User.id.in_(sorted(people)), ~User.active
        )
    ).all()

    return rules.Schedule(
        zone=rules.zone_named(row.time_zone),
        layers=tuple(_layer_rules(layer) for layer in layers),
        overrides=tuple(
            rules.Override(o.id, o.user_id, o.start_at, o.end_at) for o in overrides
        ),
        deactivated={
            user_id: rules.EARLIEST if paging or since is None else since
            for user_id, since in inactive
        },
    )


def layer_rows(session: Session, schedule_id: int) -> Sequence[ScheduleLayer]:
    """Every layer of the schedule, removed ones too, lowest first, with the
    versions of its rotation and their members loaded."""
    return session.scalars(
        select(ScheduleLayer)
        .where(ScheduleLayer.schedule_id == schedule_id)
        .order_by(ScheduleLayer.position)
        .options(
            selectinload(ScheduleLayer.versions).selectinload(ScheduleRotation.members)
        )
    ).all()


def _layer_rules(layer: ScheduleLayer) -> rules.Layer:
    versions = sorted(layer.versions, key=_version_order)
    return rules.Layer(
        id=layer.id,
        versions=tuple(
            rules.RotationVersion(v.effective_from, rotation_rules(v)) for v in versions
        ),
        removed_at=layer.removed_at,
    )


def _version_order(version: ScheduleRotation) -> tuple[bool, datetime | None, int]:
    # The first version takes effect "from always" (None), the rest in order.
    return (version.effective_from is not None, version.effective_from, version.id)


def rotation_rules(version: ScheduleRotation) -> rules.Rotation:
    """A stored rotation version as the domain renders it."""
    return rules.Rotation(
        members=tuple(m.user_id for m in version.members),
        unit=rules.ShiftUnit(version.shift_unit),
        count=version.shift_count,
        start_local=version.start_local,
        restrictions=tuple(_restriction(r) for r in version.restrictions),
    )


def _restriction(stored: dict[str, Any]) -> rules.Restriction:
    return rules.Restriction(
        days=frozenset(int(day) for day in stored["days"]),
        start=time.fromisoformat(stored["start"]),
        end=time.fromisoformat(stored["end"]),
    )


def stored_restriction(restriction: rules.Restriction) -> dict[str, Any]:
    """A restriction as kept in JSON: days 0 (Monday) to 6, times HH:MM."""
    return {
        "days": sorted(restriction.days),
        "start": restriction.start.strftime("%H:%M"),
        "end": restriction.end.strftime("%H:%M"),
    }


# Reading ------------------------------------------------------------------------


def find(ctx: Context, actor: Actor, name: str) -> int:
    """The id of the schedule called `name` that the actor may see, or of the
    schedule with that number. Raises NotFound."""
    wanted = name.strip()
    is_id = plain_digits(wanted) and len(wanted) < 10
    with ctx.db.read() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == wanted))
        if row is None and is_id:
            row = session.get(Schedule, int(wanted))
        if row is None or not can_see_team(actor, row.team_id):
            raise NotFound(f"no schedule named {name!r}")
        return row.id


def list_schedules(ctx: Context, actor: Actor) -> list[ScheduleRead]:
    """The schedules the actor may see, by name, each with who is on call now."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = session.scalars(select(Schedule).order_by(Schedule.name)).all()
        return [
            _schedule_read(session, row, now)
            for row in rows
            if can_see_team(actor, row.team_id)
        ]


def get_schedule(ctx: Context, actor: Actor, schedule_id: int) -> ScheduleDetail:
    """One schedule with its layers (the rotation in effect now and any
    versions to come) and the overrides not yet ended. Raises NotFound."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = visible(session, actor, schedule_id)
        return detail(session, row, now)


def who_is_on_call(
    ctx: Context, actor: Actor, schedule_id: int, at: datetime | None = None
) -> OnCallRead:
    """Who is on call at `at` (default now), and until when."""
    at = rules.check_instant(at or ctx.clock.now(), "the instant")
    limit = min(at + LOOKAHEAD, rules.LATEST)
    with ctx.db.read() as session:
        visible(session, actor, schedule_id)
        schedule = load(session, schedule_id, at, limit)
        first = _first_span(schedule, at, limit)
        on_call = user_refs(session, [] if first.user_id is None else [first.user_id])
        return OnCallRead(
            schedule_id=schedule_id,
            at=at,
            users=on_call,
            until=first.end if first.end < limit else None,
        )


def _first_span(schedule: rules.Schedule, at: datetime, limit: datetime) -> rules.Span:
    # The next change is the end of the first span. Most come within a day or
    # a week, so render short ranges first and longer ones only when the span
    # runs to the end of the range (an hourly rotation over 400 days is slow).
    reach = timedelta(days=2)
    while True:
        end = min(at + reach, limit)
        first = rules.render(schedule, at, end)[0]
        if first.end < end or end == limit:
            return first
        reach *= 8


def timeline(
    ctx: Context, actor: Actor, schedule_id: int, start: datetime, end: datetime
) -> TimelineRead:
    """The final rendered timeline of [start, end), gaps included."""
    start, end = rules.check_range(start, end)
    with ctx.db.read() as session:
        row = visible(session, actor, schedule_id)
        spans = rules.render(load(session, schedule_id, start, end), start, end)
        refs = {
            ref.id: ref
            for ref in user_refs(session, [s.user_id for s in spans if s.user_id])
        }

    read = [
        SpanRead(
            start=s.start,
            end=s.end,
            user=refs[s.user_id] if s.user_id is not None else None,
        )
        for s in spans
    ]
    return TimelineRead(
        schedule_id=schedule_id,
        time_zone=row.time_zone,
        start=start,
        end=end,
        spans=read,
        gaps=[span for span in read if span.user is None],
    )


def visible(session: Session, actor: Actor, schedule_id: int) -> Schedule:
    """The schedule, or NotFound when it does not exist or the actor may not
    see its team's schedules (the two look the same on purpose)."""
    row = session.get(Schedule, schedule_id)
    if row is None or not can_see_team(actor, row.team_id):
        raise NotFound(f"no schedule {schedule_id}")
    return row


def user_refs(session: Session, user_ids: Iterable[int]) -> list[UserRef]:
    """The users with these ids, once each, in the order first given."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    found = {
        user.id: UserRef.model_validate(user)
        for user in session.scalars(select(User).where(User.id.in_(wanted)))
    }
    return [found[user_id] for user_id in wanted if user_id in found]


def _schedule_read(session: Session, row: Schedule, now: datetime) -> ScheduleRead:
    team = session.get(Team, row.team_id)
    return ScheduleRead(
        id=row.id,
        name=row.name,
        description=row.description,
        team_id=row.team_id,
        team=team.name if team else "",
        time_zone=row.time_zone,
        on_call_now=user_refs(session, on_call_at(session, row.id, now)),
    )


def detail(session: Session, row: Schedule, now: datetime) -> ScheduleDetail:
    """The schedule as `get_schedule` returns it, read in the caller's session
    (a change returns what it made in its own transaction)."""
    layers = []
    for layer in layer_rows(session, row.id):
        if layer.removed_at is not None and layer.removed_at <= now:
            continue
        versions = sorted(layer.versions, key=_version_order)
        # The first version takes effect from always, so one is current.
        current = [
            v for v in versions if v.effective_from is None or v.effective_from <= now
        ]
        later = [v for v in versions if v not in current]
        layers.append(
            LayerRead(
                id=layer.id,
                name=layer.name,
                position=layer.position,
                removed_at=layer.removed_at,
                rotation=_rotation_read(session, current[-1]),
                upcoming=[_rotation_read(session, v) for v in later],
            )
        )
    overrides = session.scalars(
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule_id == row.id, ScheduleOverride.end_at > now)
        .order_by(ScheduleOverride.start_at, ScheduleOverride.id)
    ).all()
    read = _schedule_read(session, row, now)
    return ScheduleDetail(
        **read.model_dump(),
        layers=layers,
        overrides=[_override_read(session, o) for o in overrides],
    )


def _rotation_read(session: Session, version: ScheduleRotation) -> RotationRead:
    rotation = rotation_rules(version)
    return RotationRead(
        id=version.id,
        effective_from=version.effective_from,
        members=_users_in_order(session, rotation.members),
        shift_unit=version.shift_unit,
        shift_count=version.shift_count,
        start_local=version.start_local,
        restrictions=[
            RestrictionRead(
                days=[rules.DAY_NAMES[d] for d in sorted(r.days)],
                start=r.start.strftime("%H:%M"),
                end=r.end.strftime("%H:%M"),
            )
            for r in rotation.restrictions
        ],
    )


def _users_in_order(session: Session, user_ids: Sequence[int]) -> list[UserRef]:
    # A member may take more than one turn in a rotation: keep every turn.
    refs = {ref.id: ref for ref in user_refs(session, user_ids)}
    return [refs[user_id] for user_id in user_ids if user_id in refs]


def _override_read(session: Session, override: ScheduleOverride) -> OverrideRead:
    [user] = user_refs(session, [override.user_id])
    return OverrideRead(
        id=override.id, user=user, start=override.start_at, end=override.end_at
    )
