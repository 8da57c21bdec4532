"""Changing on-call schedules: the schedule itself, its layers and their
rotations, and overrides. Each function is one authorised, audited
transaction; every change replans the schedule's shift reminders.

A rotation is never edited in place. A change adds a version that renders
from its `effective_from` on, so who was on call before it stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.domain import schedules as rules
from tocsin.domain.access import Actor, Role, can_see_team, require_role
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.schemas import UserRef
from tocsin.services import schedule_reminders
from tocsin.services.catalog.common import checked_description, checked_name
from tocsin.services.context import Context
from tocsin.services.records import audit
from tocsin.services.schedule_reads import ScheduleDetail
from tocsin.services.schedules import detail, layer_rows, stored_restriction
from tocsin.store.models import (
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ScheduleRotation,
    ScheduleRotationMember,
    Team,
    TeamMember,
    User,
)

# Who may change a team's schedules, besides admins: its members holding at
# least this role.
EDIT_ROLE = Role.RESPONDER
MAX_LAYERS = 20
# An override is a span someone takes over: an hour, a night, a few weeks.
MAX_OVERRIDE = timedelta(days=366)


@dataclass(frozen=True)
class LayerInput:
    """A layer's rotation as given: its members' user ids in turn order, the
    shift length (`shift_count` hours, days or weeks on the wall clock), the
    first handoff as a local time, and optional restrictions."""

    name: str
    members: tuple[int, ...]
    shift_unit: str
    shift_count: int
    start_local: datetime
    restrictions: tuple[rules.Restriction, ...] = ()


def require_editor(actor: Actor, team_id: int) -> None:
    """Raises Forbidden unless the actor may change the team's schedules:
    admins, and the team's members with at least EDIT_ROLE."""
    require_role(actor, EDIT_ROLE)
    if actor.is_system or actor.role is Role.ADMIN:
        return
    if team_id not in actor.team_ids:
        raise Forbidden("only the schedule's team and admins may change it")


def _editable(session: Session, actor: Actor, schedule_id: int) -> Schedule:
    """The schedule, locked for a change. NotFound when the actor cannot see
    it, Forbidden when they may see but not change it."""
    row = session.scalar(
        select(Schedule).where(Schedule.id == schedule_id).with_for_update()
    )
    if row is None or not can_see_team(actor, row.team_id):
        raise NotFound(f"no schedule {schedule_id}")
    require_editor(actor, row.team_id)
    return row


def create_schedule(
    ctx: Context,
    actor: Actor,
    *,
    name: str,
    team: int | str,
    time_zone: str,
    description: str = "",
) -> ScheduleDetail:
    """Create an empty schedule (it has nobody on call until a layer is
    added). Raises InvalidInput (unknown zone), NotFound (team), Conflict
    (name taken) or Forbidden."""
    name = checked_name(name, "schedule")
    description = checked_description(description)
    rules.zone_named(time_zone)

    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            owner = _team(session, team)
            require_editor(actor, owner.id)
            if session.scalar(select(Schedule.id).where(Schedule.name == name)):
                raise Conflict(f"a schedule named {name!r} already exists")
            row = Schedule(
                name=name,
                description=description,
                team_id=owner.id,
                time_zone=time_zone,
                created_at=now,
            )
            session.add(row)
            session.flush()
            _audit(
                session,
                actor,
                now,
                "schedule.create",
                row.id,
                name=name,
                team=owner.name,
                time_zone=time_zone,
            )
            return detail(session, row, now)
    except IntegrityError as error:
        raise Conflict(f"a schedule named {name!r} already exists") from error


def _team(session: Session, team: int | str) -> Team:
    if isinstance(team, int):
        found = session.get(Team, team)
    else:
        found = session.scalar(select(Team).where(Team.name == team.strip()))
    if found is None:
        raise NotFound(f"no team {team!r}")
    return found


def update_schedule(
    ctx: Context,
    actor: Actor,
    schedule_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
) -> ScheduleDetail:
    """Rename a schedule or change its description. Its zone stays: changing
    it would move every past handoff."""
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            row = _editable(session, actor, schedule_id)
            changes: dict[str, str] = {}
            if name is not None:
                changes["name"] = row.name = checked_name(name, "schedule")
            if description is not None:
                changes["description"] = row.description = checked_description(
                    description
                )
            session.flush()
            _audit(session, actor, now, "schedule.update", row.id, **changes)
            return detail(session, row, now)
    except IntegrityError as error:
        raise Conflict(f"a schedule named {name!r} already exists") from error


def delete_schedule(ctx: Context, actor: Actor, schedule_id: int) -> None:
    """Delete a schedule with its layers, overrides and calendar feeds.
    Raises Conflict while something else (an escalation step) still uses it."""
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            row = _editable(session, actor, schedule_id)
            name = row.name
            session.delete(row)
            session.flush()
            _audit(session, actor, now, "schedule.delete", schedule_id, name=name)
            _replan(session, ctx, schedule_id)
    except IntegrityError as error:
        raise Conflict(
            f"schedule {schedule_id} is still in use, as by an escalation step"
        ) from error


def add_layer(
    ctx: Context, actor: Actor, schedule_id: int, layer: LayerInput
) -> ScheduleDetail:
    """Add a layer on top of the schedule's others (it wins where it has
    someone on call). Raises InvalidInput (bad rotation, unknown or
    deactivated member), NotFound or Forbidden."""
    name = checked_name(layer.name, "layer")
    rotation = _checked_rotation(layer)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = _editable(session, actor, schedule_id)
        _check_members(session, rotation.members)
        existing = layer_rows(session, schedule_id)
        positions = [other.position for other in existing]
        live = [other for other in existing if other.removed_at is None]
        if len(live) >= MAX_LAYERS:
            raise InvalidInput(f"a schedule has at most {MAX_LAYERS} layers")
        added = ScheduleLayer(
            schedule_id=row.id,
            position=max(positions, default=0) + 1,
            name=name,
            created_at=now,
        )
        added.versions = [_version_row(rotation, None, now)]
        session.add(added)
        session.flush()
        _audit(
            session,
            actor,
            now,
            "schedule.layer.add",
            row.id,
            layer_id=added.id,
            name=name,
            **_rotation_detail(rotation),
        )
        _replan(session, ctx, row.id)
        return detail(session, row, now)


def edit_layer(
    ctx: Context,
    actor: Actor,
    schedule_id: int,
    layer_id: int,
    layer: LayerInput,
    *,
    effective_from: datetime | None = None,
) -> ScheduleDetail:
    """Give a layer a new rotation from `effective_from` (default now) on.

    Renders before that instant keep the old rotation, so the past never
    changes: `effective_from` may not be in the past, nor before a version
    already planned. Raises InvalidInput, NotFound or Forbidden."""
    name = checked_name(layer.name, "layer")
    rotation = _checked_rotation(layer)
    now = ctx.clock.now()
    effective = rules.check_instant(effective_from or now, "effective_from")
    if effective < now:
        raise InvalidInput("a change cannot take effect in the past")

    with ctx.db.write() as session:
        row = _editable(session, actor, schedule_id)
        found = _layer(session, row.id, layer_id, now)
        _check_members(session, rotation.members)
        latest = max(
            (v.effective_from for v in found.versions if v.effective_from),
            default=None,
        )
        if latest is not None and effective <= latest:
            raise InvalidInput(
                f"a change to layer {layer_id} is already planned for "
                f"{latest.isoformat()}: take effect after it"
            )
        found.name = name
        found.versions.append(_version_row(rotation, effective, now))
        session.flush()
        _audit(
            session,
            actor,
            now,
            "schedule.layer.edit",
            row.id,
            layer_id=layer_id,
            name=name,
            effective_from=effective.isoformat(),
            **_rotation_detail(rotation),
        )
        _replan(session, ctx, row.id)
        return detail(session, row, now)


def remove_layer(
    ctx: Context, actor: Actor, schedule_id: int, layer_id: int
) -> ScheduleDetail:
    """Take a layer out from now on; renders of the past still show it."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = _editable(session, actor, schedule_id)
        found = _layer(session, row.id, layer_id, now)
        found.removed_at = now
        session.flush()
        _audit(
            session,
            actor,
            now,
            "schedule.layer.remove",
            row.id,
            layer_id=layer_id,
            name=found.name,
        )
        _replan(session, ctx, row.id)
        return detail(session, row, now)


def _layer(
    session: Session, schedule_id: int, layer_id: int, now: datetime
) -> ScheduleLayer:
    found = session.get(ScheduleLayer, layer_id)
    if found is None or found.schedule_id != schedule_id:
        raise NotFound(f"schedule {schedule_id} has no layer {layer_id}")
    if found.removed_at is not None and found.removed_at <= now:
        raise Conflict(f"layer {layer_id} was removed")
    return found


def add_override(
    ctx: Context,
    actor: Actor,
    schedule_id: int,
    *,
    user_id: int,
    start: datetime,
    end: datetime,
) -> ScheduleDetail:
    """`user_id` takes over the schedule for [start, end), above every layer;
    the shifts on either side stay as they were. Where overrides overlap, the
    later one made wins. An override cannot begin in the past."""
    start, end = rules.check_range(start, end)
    if end - start > MAX_OVERRIDE:
        raise InvalidInput(f"an override lasts at most {MAX_OVERRIDE.days} days")
    now = ctx.clock.now()
    if end <= now:
        raise InvalidInput("an override must end in the future")
    start = max(start, now)

    with ctx.db.write() as session:
        row = _editable(session, actor, schedule_id)
        _check_members(session, (user_id,))
        override = ScheduleOverride(
            schedule_id=row.id,
            user_id=user_id,
            start_at=start,
            end_at=end,
            created_at=now,
        )
        session.add(override)
        session.flush()
        _audit(
            session,
            actor,
            now,
            "schedule.override.add",
            row.id,
            override_id=override.id,
            user_id=user_id,
            start=start.isoformat(),
            end=end.isoformat(),
        )
        _replan(session, ctx, row.id)
        return detail(session, row, now)


def remove_override(
    ctx: Context, actor: Actor, schedule_id: int, override_id: int
) -> ScheduleDetail:
    """Cancel an override. One that has begun ends now (its past stays); one
    that has ended is history and cannot be removed (Conflict)."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = _editable(session, actor, schedule_id)
        override = session.get(ScheduleOverride, override_id)
        if override is None or override.schedule_id != row.id:
            raise NotFound(f"schedule {schedule_id} has no override {override_id}")
        if override.end_at <= now:
            raise Conflict(f"override {override_id} has ended already")
        if override.start_at < now:
            override.end_at = now
        else:
            session.delete(override)
        session.flush()
        _audit(
            session,
            actor,
            now,
            "schedule.override.remove",
            row.id,
            override_id=override_id,
        )
        _replan(session, ctx, row.id)
        return detail(session, row, now)


def override_people(ctx: Context, actor: Actor, schedule_id: int) -> list[UserRef]:
    """Whom an override form offers: the active members of the schedule's
    team and of its layers' rotations, by name. Raises NotFound."""
    with ctx.db.read() as session:
        row = session.get(Schedule, schedule_id)
        if row is None or not can_see_team(actor, row.team_id):
            raise NotFound(f"no schedule {schedule_id}")
        in_rotation = (
            select(ScheduleRotationMember.user_id)
            .join(
                ScheduleRotation,
                ScheduleRotation.id == ScheduleRotationMember.rotation_id,
            )
            .join(ScheduleLayer, ScheduleLayer.id == ScheduleRotation.layer_id)
            .where(ScheduleLayer.schedule_id == schedule_id)
        )
        in_team = select(TeamMember.user_id).where(TeamMember.team_id == row.team_id)
        people = session.scalars(
            select(User)
            .where(User.active, or_(User.id.in_(in_rotation), User.id.in_(in_team)))
            .order_by(User.name, User.id)
        ).all()
        return [UserRef.model_validate(user) for user in people]


def user_ids(ctx: Context, emails: Sequence[str]) -> list[int]:
    """The ids of the users with these emails, in order. Raises InvalidInput
    for an email no user has."""
    wanted = [email.strip().lower() for email in emails]
    with ctx.db.read() as session:
        rows = session.execute(
            select(User.email, User.id).where(User.email.in_(wanted))
        )
        found = {row[0]: row[1] for row in rows}
    for email in wanted:
        if email not in found:
            raise InvalidInput(f"no user with email {email}")
    return [found[email] for email in wanted]


def _checked_rotation(layer: LayerInput) -> rules.Rotation:
    try:
        unit = rules.ShiftUnit(layer.shift_unit)
    except ValueError:
        raise InvalidInput(
            f"a shift unit is hours, days or weeks, not {layer.shift_unit!r}"
        ) from None
    rotation = rules.Rotation(
        members=tuple(layer.members),
        unit=unit,
        count=layer.shift_count,
        start_local=layer.start_local,
        restrictions=tuple(layer.restrictions),
    )
    rules.check_rotation(rotation)
    return rotation


def _check_members(session: Session, members: Iterable[int]) -> None:
    wanted = sorted(set(members))
    rows = session.execute(select(User.id, User.active).where(User.id.in_(wanted)))
    found = {row[0]: row[1] for row in rows}
    for user_id in wanted:
        if user_id not in found:
            raise InvalidInput(f"no user {user_id}")
        if not found[user_id]:
            raise InvalidInput(f"user {user_id} is deactivated and cannot be on call")


def _version_row(
    rotation: rules.Rotation, effective_from: datetime | None, now: datetime
) -> ScheduleRotation:
    return ScheduleRotation(
        effective_from=effective_from,
        shift_unit=str(rotation.unit),
        shift_count=rotation.count,
        start_local=rotation.start_local,
        restrictions=[stored_restriction(r) for r in rotation.restrictions],
        members=[
            ScheduleRotationMember(position=position, user_id=user_id)
            for position, user_id in enumerate(rotation.members)
        ],
        created_at=now,
    )


def _rotation_detail(rotation: rules.Rotation) -> dict[str, Any]:
    return {
        "members": list(rotation.members),
        "shift": f"{rotation.count} {rotation.unit}",
        "start_local": rotation.start_local.isoformat(),
        "restrictions": [rules.format_restriction(r) for r in rotation.restrictions],
    }


def _audit(
    session: Session,
    actor: Actor,
    now: datetime,
    action: str,
    schedule_id: int,
    **detail: Any,
) -> None:
    audit(
        session,
        actor,
        at=now,
        action=action,
        object_type="schedule",
        object_id=schedule_id,
        **detail,
    )


def _replan(session: Session, ctx: Context, schedule_id: int) -> None:
    schedule_reminders.replan(session, ctx, schedule_id)
