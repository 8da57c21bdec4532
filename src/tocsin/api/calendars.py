"""The iCal feed route. Calendar apps cannot send a bearer token, so the
secret token in the URL is the credential: unknown or revoked is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from tocsin.api.deps import CtxDep
from tocsin.api.schemas import Problem
from tocsin.services import ical

router = APIRouter(tags=["schedules"])

MEDIA_TYPE = "text/calendar; charset=utf-8"


@router.get(
    "/calendars/{token}.ics",
    operation_id="getCalendar",
    summary="On-call shifts as iCalendar, by secret URL",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The calendar."},
        404: {"model": Problem, "description": "No such calendar, or revoked."},
    },
)
def calendar(
    ctx: CtxDep, token: Annotated[str, Path(min_length=1, max_length=100)]
) -> Response:
    """Shifts from 30 days ago to 180 days ahead, in the schedule's zone."""
    return Response(
        ical.calendar(ctx, token),
        media_type=MEDIA_TYPE,
        # The document names people: no shared cache may keep it.
        headers={"Cache-Control": "private, max-age=300"},
    )
