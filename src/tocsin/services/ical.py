"""Calendar feeds: on-call shifts as iCalendar (RFC 5545) behind secret URLs.

A feed is a schedule's final timeline, or one person's shifts across every
schedule they are on. Calendar apps fetch a URL without logging in, so the
URL carries a random token; only its SHA-256 is kept, and revoking the feed
makes the URL answer 404. A feed shows what its owner may see now: a
deactivated owner, or one who left the schedule's team, gets nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tocsin.domain import schedules as rules
from tocsin.domain.access import Actor, Role, can_see_team
from tocsin.errors import Forbidden, NotFound
from tocsin.services.context import Context
from tocsin.services.incidents import team_ids_of
from tocsin.services.records import audit
from tocsin.services.schedules import load
from tocsin.store.models import (
    CalendarFeed,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ScheduleRotation,
    ScheduleRotationMember,
    User,
)

# What a feed holds: recent shifts for context, and the months ahead.
PAST = timedelta(days=30)
AHEAD = timedelta(days=180)
PATH = "/api/v1/calendars/{token}.ics"


@dataclass(frozen=True)
class FeedRead:
    id: int
    user_id: int
    schedule_id: int | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewFeed:
    """A feed and its URL, which exists in clear only in this value."""

    feed: FeedRead
    url: str


def create_feed(
    ctx: Context, actor: Actor, *, user_id: int, schedule_id: int | None = None
) -> NewFeed:
    """A secret calendar URL for `user_id`: one schedule's timeline, or (no
    schedule) that user's own shifts. Only the user themselves or an admin may
    make it, and only for a schedule the user may see."""
    return _issue(ctx, actor, user_id, schedule_id, replace=False)


def renew_feed(
    ctx: Context, actor: Actor, *, user_id: int, schedule_id: int | None = None
) -> NewFeed:
    """As `create_feed`, and in the same transaction revoke the user's other
    live feeds of the same kind (that schedule, or their own shifts): a
    leaked or lost URL stops working as the new one is made."""
    return _issue(ctx, actor, user_id, schedule_id, replace=True)


def _issue(
    ctx: Context,
    actor: Actor,
    user_id: int,
    schedule_id: int | None,
    *,
    replace: bool,
) -> NewFeed:
    _require_self_or_admin(actor, user_id)
    token = secrets.token_urlsafe(32)

    now = ctx.clock.now()
    with ctx.db.write() as session:
        owner = _owner(session, user_id)
        if schedule_id is not None:
            schedule = session.get(Schedule, schedule_id)
            if schedule is None or not can_see_team(owner, schedule.team_id):
                raise NotFound(f"no schedule {schedule_id}")
        if replace:
            _revoke_alike(session, actor, user_id, schedule_id, now)
        feed = CalendarFeed(
            user_id=user_id,
            schedule_id=schedule_id,
            token_hash=_digest(token),
            prefix=token[:8],
            created_at=now,
        )
        session.add(feed)
        session.flush()
        audit(
            session,
            actor,
            at=now,
            action="calendar_feed.create",
            object_type="calendar_feed",
            object_id=feed.id,
            user_id=user_id,
            schedule_id=schedule_id,
        )
        read = _read(feed)

    url = ctx.settings.base_url.rstrip("/") + PATH.format(token=token)
    return NewFeed(feed=read, url=url)


def list_feeds(ctx: Context, actor: Actor, user_id: int) -> list[FeedRead]:
    """A user's calendar feeds, revoked ones included, newest first."""
    _require_self_or_admin(actor, user_id)
    with ctx.db.read() as session:
        feeds = session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.user_id == user_id)
            .order_by(CalendarFeed.id.desc())
        ).all()
        return [_read(feed) for feed in feeds]


def revoke_feed(ctx: Context, actor: Actor, feed_id: int) -> FeedRead:
    """Stop a feed's URL from working. Revoking twice changes nothing."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        feed = session.get(CalendarFeed, feed_id, with_for_update=True)
        if feed is None or not _may_manage(actor, feed.user_id):
            raise NotFound(f"no calendar feed {feed_id}")
        if feed.revoked_at is None:
            feed.revoked_at = now
            audit(
                session,
                actor,
                at=now,
                action="calendar_feed.revoke",
                object_type="calendar_feed",
                object_id=feed.id,
            )
        return _read(feed)


def _revoke_alike(
    session: Session,
    actor: Actor,
    user_id: int,
    schedule_id: int | None,
    now: datetime,
) -> None:
    same_kind = (
        CalendarFeed.schedule_id.is_(None)
        if schedule_id is None
        else CalendarFeed.schedule_id == schedule_id
    )
    live = session.scalars(
        select(CalendarFeed)
        .where(
            CalendarFeed.user_id == user_id,
            CalendarFeed.revoked_at.is_(None),
            same_kind,
        )
        .with_for_update()
    ).all()
    for feed in live:
        feed.revoked_at = now
        audit(
            session,
            actor,
            at=now,
            action="calendar_feed.revoke",
            object_type="calendar_feed",
            object_id=feed.id,
        )


def calendar(ctx: Context, token: str) -> bytes:
    """The feed behind `token` as an iCalendar document. Raises NotFound for
    an unknown or revoked token and for an owner who may no longer see it."""
    now = ctx.clock.now()
    start, end = now - PAST, now + AHEAD
    with ctx.db.read() as session:
        feed = session.scalar(
            select(CalendarFeed).where(CalendarFeed.token_hash == _digest(token))
        )
        if feed is None or feed.revoked_at is not None:
            raise NotFound("no such calendar")
        owner = _owner(session, feed.user_id)

        if feed.schedule_id is not None:
            schedule = session.get(Schedule, feed.schedule_id)
            if schedule is None or not can_see_team(owner, schedule.team_id):
                raise NotFound("no such calendar")
            name = f"On call: {schedule.name}"
            shifts = _shifts(session, schedule, start, end, only=None)
        else:
            user = session.get(User, feed.user_id)
            name = f"On call: {user.name if user else ''}"
            shifts = []
            for schedule in _schedules_of(session, feed.user_id):
                if can_see_team(owner, schedule.team_id):
                    shifts.extend(
                        _shifts(session, schedule, start, end, only=feed.user_id)
                    )

        people = sorted({span.user_id for _, span in shifts if span.user_id})
        rows = session.execute(select(User.id, User.name).where(User.id.in_(people)))
        names = {row[0]: row[1] for row in rows}

    return _document(ctx, name, shifts, names, now, (start, end))


def _shifts(
    session: Session,
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    only: int | None,
) -> list[tuple[Schedule, rules.Span]]:
    timeline = rules.render(load(session, schedule.id, start, end), start, end)
    return [
        (schedule, span)
        for span in timeline
        if span.user_id is not None and (only is None or span.user_id == only)
    ]


def _schedules_of(session: Session, user_id: int) -> list[Schedule]:
    member = (
        select(ScheduleLayer.schedule_id)
        .join(ScheduleRotation, ScheduleRotation.layer_id == ScheduleLayer.id)
        .join(
            ScheduleRotationMember,
            ScheduleRotationMember.rotation_id == ScheduleRotation.id,
        )
        .where(ScheduleRotationMember.user_id == user_id)
    )
    overriding = select(ScheduleOverride.schedule_id).where(
        ScheduleOverride.user_id == user_id
    )
    return list(
        session.scalars(
            select(Schedule)
            .where(or_(Schedule.id.in_(member), Schedule.id.in_(overriding)))
            .order_by(Schedule.id)
        )
    )


def _document(
    ctx: Context,
    name: str,
    shifts: list[tuple[Schedule, rules.Span]],
    names: dict[int, str],
    now: datetime,
    feed_range: tuple[datetime, datetime],
) -> bytes:
    host = urlsplit(ctx.settings.base_url).hostname or "tocsin"
    document = Calendar()
    document.add("prodid", "-//Tocsin//On-call schedules//EN")
    document.add("version", "2.0")
    document.add("calscale", "GREGORIAN")
    document.add("method", "PUBLISH")
    document.add("x-wr-calname", name)

    for schedule, span in shifts:
        zone = rules.zone_named(schedule.time_zone)
        person = names.get(span.user_id or 0, "")
        event = Event()
        shift = f"shift-{schedule.id}-{span.user_id}-{_shift_key(span, feed_range)}"
        event.add("uid", f"{shift}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", _wall_clock(span.start, zone))
        event.add("dtend", _wall_clock(span.end, zone))
        event.add("summary", f"On call: {person} ({schedule.name})")
        event.add("description", f"{person} is on call for {schedule.name}.")
        event.add("transp", "TRANSPARENT")
        document.add_component(event)

    # The zone's rules for the feed's range: the library's default stops at
    # 2038, after which an app reading them would lose every DST change.
    margin = timedelta(days=2)
    document.add_missing_timezones(
        first_date=(feed_range[0] - margin).date(),
        last_date=(feed_range[1] + margin).date(),
    )
    return bytes(document.to_ical())


def _shift_key(span: rules.Span, feed_range: tuple[datetime, datetime]) -> str:
    """What names a shift in its UID, the same on every fetch so that apps
    update an event rather than add one. The feed's range moves with the
    clock and cuts the shifts at its ends: a shift cut at the start is named
    by its end, and one cut at both ends is the only one that can be."""
    if span.start != feed_range[0]:
        return str(int(span.start.timestamp()))
    if span.end != feed_range[1]:
        return f"until-{int(span.end.timestamp())}"
    return "throughout"


def _wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """`instant` as the schedule's wall clock shows it, unless the wall clock
    reads that time twice (clocks going back) and this is the second time:
    a calendar app reads a repeated local time as the first (RFC 5545), so
    that instant is written in UTC instead."""
    local = instant.astimezone(zone)
    if rules.resolve_local(local.replace(tzinfo=None), zone) != instant:
        return instant
    return local


def _owner(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound(f"no user {user_id}")
    return Actor(
        kind="user",
        label=user.email,
        user_id=user.id,
        role=Role(user.role),
        team_ids=team_ids_of(session, user.id),
    )


def _may_manage(actor: Actor, user_id: int) -> bool:
    return actor.is_system or actor.role is Role.ADMIN or actor.user_id == user_id


def _require_self_or_admin(actor: Actor, user_id: int) -> None:
    if not _may_manage(actor, user_id):
        raise Forbidden("only the user themselves or an admin may do this")


def _read(feed: CalendarFeed) -> FeedRead:
    return FeedRead(
        id=feed.id,
        user_id=feed.user_id,
        schedule_id=feed.schedule_id,
        prefix=feed.prefix,
        created_at=feed.created_at,
        revoked_at=feed.revoked_at,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
