"""Schedule pages: every schedule with who is on call now, and one schedule's
calendar (a week or a month of the final rendering, overrides applied, gaps
marked) with its layers, its overrides and the secret calendar-feed links.

The calendar is read on the schedule's wall clock, or in UTC at the reader's
choice (`tz=utc`); the override form is always on the schedule's clock. Who
may add or cancel an override is the schedule service's rule (the team's
responders and admins), the same as in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.domain import schedules as rules
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.services import ical, schedule_edits, schedules
from tocsin.services.catalog import policy_edits
from tocsin.services.context import Context
from tocsin.services.schedule_reads import ScheduleDetail
from tocsin.web import schedule_calendar as calendar
from tocsin.web.auth import FormUserDep, UserDep, WebUser, safe_next
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Schedules", "/schedules", order=40))

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=40)]
UTC_ZONE = ZoneInfo("UTC")


@router.get("/schedules")
def schedule_list(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _list_page(request, ctx, user)


@router.post("/schedules/feed")
def renew_own_feed(request: Request, ctx: CtxDep, user: FormUserDep) -> Response:
    """A new secret URL for the user's own shifts; the old one stops working."""
    made = ical.renew_feed(ctx, user.actor, user_id=_user_id(user))
    return _list_page(request, ctx, user, new_feed_url=made.url, status_code=201)


@router.post("/schedules/feeds/{feed_id}/revoke")
def revoke_feed(
    ctx: CtxDep,
    user: FormUserDep,
    feed_id: Id,
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Stop a calendar link without making a new one; back to the page."""
    ical.revoke_feed(ctx, user.actor, feed_id)
    landing = safe_next(back)
    return RedirectResponse(landing if landing != "/" else "/schedules", 303)


@router.get("/schedules/{schedule_id}")
def schedule_detail(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    schedule_id: Id,
    view: Annotated[str | None, Query(max_length=10)] = None,
    start: Annotated[str | None, Query(max_length=20)] = None,
    tz: Annotated[str | None, Query(max_length=10)] = None,
    override_start: Annotated[str | None, Query(max_length=40)] = None,
    override_end: Annotated[str | None, Query(max_length=40)] = None,
    override_user: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The calendar of the week or month holding `start` (default today); the
    override_* parameters prefill the override form (a day or shift link)."""
    typed = {
        "user_id": override_user or "",
        "start": override_start or "",
        "end": override_end or "",
    }
    return _detail_page(
        request, ctx, user, schedule_id, _where(view, start, tz), typed=typed
    )


@router.post("/schedules/{schedule_id}/overrides")
def add_override(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    schedule_id: Id,
    user_id: Short = "",
    start: Short = "",
    end: Short = "",
    view: Short = "",
    shown: Short = "",
    tz: Short = "",
) -> Response:
    """Let someone take over [start, end) on the schedule's wall clock, then
    show the calendar where the override begins. A refusal keeps the form."""
    where = _where(view, shown, tz)
    typed = {"user_id": user_id, "start": start, "end": end}
    try:
        zone = rules.zone_named(_schedule(ctx, user, schedule_id).time_zone)
        begins = calendar.parse_local_input(start, zone, "start")
        ends = calendar.parse_local_input(end, zone, "end")
        if ends <= begins:
            raise InvalidInput("the override must end after it starts")
        schedule_edits.add_override(
            ctx,
            user.actor,
            schedule_id,
            user_id=_chosen_person(user_id),
            start=begins,
            end=ends,
        )
    except InvalidInput as error:
        return _detail_page(
            request, ctx, user, schedule_id, where, typed=typed, problem=error.detail
        )

    local_day = rules.to_local(begins, zone).date().isoformat()
    landing = {**where, "start": local_day}
    return RedirectResponse(_calendar_url(schedule_id, landing), status_code=303)


@router.post("/schedules/{schedule_id}/overrides/{override_id}/delete")
def remove_override(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    schedule_id: Id,
    override_id: Id,
    view: Short = "",
    shown: Short = "",
    tz: Short = "",
) -> Response:
    """Cancel an override; one under way ends now, its past stays."""
    where = _where(view, shown, tz)
    try:
        schedule_edits.remove_override(ctx, user.actor, schedule_id, override_id)
    except Conflict as error:
        return _detail_page(
            request, ctx, user, schedule_id, where, problem=error.detail, status=409
        )
    return RedirectResponse(_calendar_url(schedule_id, where), status_code=303)


@router.post("/schedules/{schedule_id}/feed")
def renew_schedule_feed(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    schedule_id: Id,
    view: Short = "",
    shown: Short = "",
    tz: Short = "",
) -> Response:
    """A new secret URL of this schedule's calendar; the old one stops working."""
    made = ical.renew_feed(
        ctx, user.actor, user_id=_user_id(user), schedule_id=schedule_id
    )
    where = _where(view, shown, tz)
    return _detail_page(
        request, ctx, user, schedule_id, where, new_feed_url=made.url, status=201
    )


# Rendering ----------------------------------------------------------------------


def _list_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    new_feed_url: str | None = None,
    status_code: int = 200,
) -> Response:
    found = schedules.list_schedules(ctx, user.actor)
    context = {
        "user": user,
        "schedules": found,
        "feeds": _live_feeds(ctx, user, None),
        "new_feed_url": new_feed_url,
    }
    return render(request, "schedules/list.html", context, status_code=status_code)


def _detail_page(
    request: Request,
    ctx: Context,
    user: WebUser,
    schedule_id: int,
    where: dict[str, str],
    *,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    new_feed_url: str | None = None,
    status: int | None = None,
) -> Response:
    """The schedule's calendar page. A bad `where` (view or date) shows the
    current week with the message and a 400."""
    schedule = schedules.get_schedule(ctx, user.actor, schedule_id)
    zone = rules.zone_named(schedule.time_zone)
    now = ctx.clock.now()
    try:
        view = calendar.parse_view(where["view"])
        shown_zone = UTC_ZONE if where["tz"] == "utc" else zone
        today = rules.to_local(now, shown_zone).date()
        around = calendar.parse_day(where["start"], today)
    except InvalidInput as error:
        problem = problem or error.detail
        view, shown_zone = calendar.WEEK, zone
        today = rules.to_local(now, zone).date()
        around = today
        where = {"view": "", "start": "", "tz": ""}

    shown = calendar.period(view, around, shown_zone)
    timeline = schedules.timeline(ctx, user.actor, schedule_id, shown.start, shown.end)
    days = calendar.lay_out(timeline.spans, shown, shown_zone, today)
    may_edit = _may_edit(user, schedule)
    context: dict[str, Any] = {
        "user": user,
        "schedule": schedule,
        "shown": shown,
        "weeks": calendar.weeks(days),
        "gaps": timeline.gaps,
        "in_utc": shown_zone is UTC_ZONE,
        "where": {**where, "view": view, "start": shown.anchor.isoformat()},
        "may_edit": may_edit,
        "people": (
            schedule_edits.override_people(ctx, user.actor, schedule_id)
            if may_edit
            else []
        ),
        "typed": typed or {"user_id": "", "start": "", "end": ""},
        "problem": problem,
        "feeds": _live_feeds(ctx, user, schedule_id),
        "paged_by": policy_edits.paging_schedule(ctx, user.actor, schedule_id),
        "new_feed_url": new_feed_url,
        "url": lambda **changes: _calendar_url(schedule_id, {**where, **changes}),
        "local": lambda instant: _local(instant, zone),
        "shown_local": lambda instant: _local(instant, shown_zone),
        "field": lambda instant: calendar.local_input(instant, zone),
        "now": now,
    }
    code = status or (400 if problem else 200)
    return render(request, "schedules/detail.html", context, status_code=code)


def _live_feeds(
    ctx: Context, user: WebUser, schedule_id: int | None
) -> list[ical.FeedRead]:
    if user.actor.user_id is None:
        return []
    return [
        feed
        for feed in ical.list_feeds(ctx, user.actor, user.actor.user_id)
        if feed.schedule_id == schedule_id and feed.revoked_at is None
    ]


# Parsing and helpers ------------------------------------------------------------


def _where(view: str | None, start: str | None, tz: str | None) -> dict[str, str]:
    """Where the calendar stands, as its query parameters (checked on render)."""
    return {"view": view or "", "start": start or "", "tz": tz or ""}


def _calendar_url(schedule_id: int, where: dict[str, str]) -> str:
    query = {key: value for key, value in where.items() if value}
    suffix = "?" + urlencode(query) if query else ""
    return f"/schedules/{schedule_id}{suffix}"


def _schedule(ctx: Context, user: WebUser, schedule_id: int) -> ScheduleDetail:
    return schedules.get_schedule(ctx, user.actor, schedule_id)


def _chosen_person(value: str) -> int:
    value = value.strip()
    if not (plain_digits(value) and 0 < int(value) <= MAX_ID):
        raise InvalidInput("choose who takes over")
    return int(value)


def _may_edit(user: WebUser, schedule: ScheduleDetail) -> bool:
    """The schedule service's own rule, asked without changing anything."""
    try:
        schedule_edits.require_editor(user.actor, schedule.team_id)
    except Forbidden:
        return False
    return True


def _user_id(user: WebUser) -> int:
    if user.actor.user_id is None:
        raise NotFound("only a user has calendar feeds")
    return user.actor.user_id


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %H:%M %Z")
