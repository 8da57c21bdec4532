"""Schedule pages: every schedule with who is on call now, and one schedule
with its layers, overrides and the coming days' timeline, gaps marked.

Read only: schedules are changed through the API and the CLI. Times are shown
on the schedule's own wall clock, with its UTC offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.domain import schedules as rules
from tocsin.services import schedules
from tocsin.web.auth import UserDep
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Schedules", "/schedules", order=40))

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Row:
    """A span of the timeline as the page shows it."""

    start: str
    end: str
    who: str | None


@router.get("/schedules")
def schedule_list(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    found = schedules.list_schedules(ctx, user.actor)
    return render(request, "schedules/list.html", {"user": user, "schedules": found})


@router.get("/schedules/{schedule_id}")
def schedule_detail(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    schedule_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> Response:
    """The schedule and its timeline from now for `days` days."""
    schedule = schedules.get_schedule(ctx, user.actor, schedule_id)
    now = ctx.clock.now()
    read = schedules.timeline(
        ctx, user.actor, schedule_id, now, now + timedelta(days=days)
    )
    zone = rules.zone_named(schedule.time_zone)
    rows = [
        Row(
            start=_local(span.start, zone),
            end=_local(span.end, zone),
            who=f"{span.user.name} <{span.user.email}>" if span.user else None,
        )
        for span in read.spans
    ]
    context = {
        "user": user,
        "schedule": schedule,
        "rows": rows,
        "gaps": len(read.gaps),
        "days": days,
        "local": lambda instant: _local(instant, zone),
    }
    return render(request, "schedules/detail.html", context)


def _local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%a %d %b %H:%M %z")
