"""Schedule routes: schedules, their layers and overrides, who is on call, the
rendered timeline, and calendar feeds.

Routes parse, call one service function and return its result. Values the
services judge (a zone, a shift length, a local start, restriction days) are
plain fields here, so bad ones come back as 400 problems with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID
from tocsin.domain import schedules as rules
from tocsin.errors import InvalidInput
from tocsin.services import ical, schedule_edits, schedules
from tocsin.services.schedule_reads import (
    OnCallRead,
    ScheduleDetail,
    ScheduleRead,
    TimelineRead,
)

router = APIRouter(prefix="/schedules", tags=["schedules"])
feeds_router = APIRouter(prefix="/calendar-feeds", tags=["schedules"])

ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The schedule's id.")]
LayerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The layer's id.")]
OverrideId = Annotated[int, Path(ge=1, le=MAX_ID, description="The override's id.")]


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleCreate(_Create):
    name: str = Field(max_length=200, examples=["Payments primary"])
    team_id: int = Field(ge=1, le=MAX_ID, description="The team that owns it.")
    time_zone: str = Field(
        max_length=64,
        description="IANA zone; handoffs are read on its wall clock.",
        examples=["Europe/London"],
    )
    description: str = Field(default="", max_length=2000)


class ScheduleUpdate(_Create):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class RestrictionCreate(_Create):
    days: list[str] = Field(
        min_length=1, max_length=7, description="mon to sun", examples=[["mon"]]
    )
    start: str = Field(max_length=5, description="HH:MM local", examples=["09:00"])
    end: str = Field(
        max_length=5,
        description="HH:MM local; at or before `start`: the next day",
        examples=["17:00"],
    )


class LayerCreate(_Create):
    name: str = Field(max_length=200, examples=["Primary"])
    members: list[int] = Field(
        max_length=rules.MAX_MEMBERS, description="User ids, in turn order."
    )
    shift_unit: str = Field(max_length=10, description="hours, days or weeks")
    shift_count: int = Field(
        ge=-MAX_ID, le=MAX_ID, description="How many units a shift lasts."
    )
    start_local: datetime = Field(
        description=(
            "The first handoff on the schedule's wall clock, without an offset; "
            "its time of day is the handoff time."
        ),
        examples=["2026-03-02T09:00:00"],
    )
    restrictions: list[RestrictionCreate] = Field(
        default_factory=list, max_length=rules.MAX_RESTRICTIONS
    )


class LayerUpdate(LayerCreate):
    effective_from: datetime | None = Field(
        default=None,
        description="When the new rotation takes over (default now, never past).",
    )


class OverrideCreate(_Create):
    user_id: int = Field(ge=1, le=MAX_ID)
    start: datetime = Field(description="With a UTC offset.")
    end: datetime = Field(description="With a UTC offset; after `start`.")


class FeedCreate(_Create):
    schedule_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="One schedule's timeline; omit for your own shifts.",
    )


class FeedRead(BaseModel):
    id: int
    schedule_id: int | None
    prefix: str = Field(description="The token's first characters.")
    created_at: datetime
    revoked_at: datetime | None


class FeedCreated(FeedRead):
    url: str = Field(description="The secret URL, shown only this once.")


def _layer(body: LayerCreate) -> schedule_edits.LayerInput:
    restrictions = []
    for item in body.restrictions:
        days = rules.parse_days(",".join(item.days))
        restrictions.append(
            rules.Restriction(
                days, rules.parse_time(item.start), rules.parse_time(item.end)
            )
        )
    return schedule_edits.LayerInput(
        name=body.name,
        members=tuple(body.members),
        shift_unit=body.shift_unit,
        shift_count=body.shift_count,
        start_local=body.start_local,
        restrictions=tuple(restrictions),
    )


@router.get(
    "",
    operation_id="listSchedules",
    summary="List schedules with who is on call now",
    response_model=list[ScheduleRead],
    responses=problem_responses(),
)
def list_schedules(ctx: CtxDep, actor: ActorDep) -> list[ScheduleRead]:
    return schedules.list_schedules(ctx, actor)


@router.post(
    "",
    operation_id="createSchedule",
    summary="Create a schedule",
    status_code=201,
    response_model=ScheduleDetail,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def create_schedule(
    ctx: CtxDep, actor: ActorDep, body: ScheduleCreate
) -> ScheduleDetail:
    """An unknown time zone is a 400; a taken name a 409."""
    return schedule_edits.create_schedule(
        ctx,
        actor,
        name=body.name,
        team=body.team_id,
        time_zone=body.time_zone,
        description=body.description,
    )


@router.get(
    "/{schedule_id}",
    operation_id="getSchedule",
    summary="Read a schedule with its layers and coming overrides",
    response_model=ScheduleDetail,
    responses=problem_responses(404, 422),
)
def get_schedule(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId
) -> ScheduleDetail:
    return schedules.get_schedule(ctx, actor, schedule_id)


@router.patch(
    "/{schedule_id}",
    operation_id="updateSchedule",
    summary="Rename a schedule or change its description",
    response_model=ScheduleDetail,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def update_schedule(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId, body: ScheduleUpdate
) -> ScheduleDetail:
    return schedule_edits.update_schedule(
        ctx, actor, schedule_id, name=body.name, description=body.description
    )


@router.delete(
    "/{schedule_id}",
    operation_id="deleteSchedule",
    summary="Delete a schedule",
    status_code=204,
    response_class=Response,
    responses=problem_responses(403, 404, 409, 422),
)
def delete_schedule(ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId) -> Response:
    """A schedule an escalation step still pages is a 409."""
    schedule_edits.delete_schedule(ctx, actor, schedule_id)
    return Response(status_code=204)


@router.post(
    "/{schedule_id}/layers",
    operation_id="addScheduleLayer",
    summary="Add a layer on top of the others",
    status_code=201,
    response_model=ScheduleDetail,
    responses=problem_responses(400, 403, 404, 422),
)
def add_layer(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId, body: LayerCreate
) -> ScheduleDetail:
    return schedule_edits.add_layer(ctx, actor, schedule_id, _layer(body))


@router.put(
    "/{schedule_id}/layers/{layer_id}",
    operation_id="editScheduleLayer",
    summary="Give a layer a new rotation from an instant on",
    response_model=ScheduleDetail,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def edit_layer(
    ctx: CtxDep,
    actor: ActorDep,
    schedule_id: ScheduleId,
    layer_id: LayerId,
    body: LayerUpdate,
) -> ScheduleDetail:
    """The rotation before `effective_from` stays as it was, so renders of the
    past do not change."""
    return schedule_edits.edit_layer(
        ctx,
        actor,
        schedule_id,
        layer_id,
        _layer(body),
        effective_from=body.effective_from,
    )


@router.delete(
    "/{schedule_id}/layers/{layer_id}",
    operation_id="removeScheduleLayer",
    summary="Remove a layer from now on",
    response_model=ScheduleDetail,
    responses=problem_responses(403, 404, 409, 422),
)
def remove_layer(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId, layer_id: LayerId
) -> ScheduleDetail:
    return schedule_edits.remove_layer(ctx, actor, schedule_id, layer_id)


@router.post(
    "/{schedule_id}/overrides",
    operation_id="addScheduleOverride",
    summary="Let someone take over a span",
    status_code=201,
    response_model=ScheduleDetail,
    responses=problem_responses(400, 403, 404, 422),
)
def add_override(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId, body: OverrideCreate
) -> ScheduleDetail:
    return schedule_edits.add_override(
        ctx, actor, schedule_id, user_id=body.user_id, start=body.start, end=body.end
    )


@router.delete(
    "/{schedule_id}/overrides/{override_id}",
    operation_id="removeScheduleOverride",
    summary="Cancel an override (one under way ends now)",
    response_model=ScheduleDetail,
    responses=problem_responses(403, 404, 409, 422),
)
def remove_override(
    ctx: CtxDep, actor: ActorDep, schedule_id: ScheduleId, override_id: OverrideId
) -> ScheduleDetail:
    return schedule_edits.remove_override(ctx, actor, schedule_id, override_id)


@router.get(
    "/{schedule_id}/on-call",
    operation_id="getOnCall",
    summary="Who is on call now, or at an instant",
    response_model=OnCallRead,
    responses=problem_responses(400, 404, 422),
)
def on_call(
    ctx: CtxDep,
    actor: ActorDep,
    schedule_id: ScheduleId,
    at: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with an offset.")
    ] = None,
) -> OnCallRead:
    return schedules.who_is_on_call(ctx, actor, schedule_id, at)


@router.get(
    "/{schedule_id}/timeline",
    operation_id="getScheduleTimeline",
    summary="The final rendered timeline of a range, with its gaps",
    response_model=TimelineRead,
    responses=problem_responses(400, 404, 422),
)
def timeline(
    ctx: CtxDep,
    actor: ActorDep,
    schedule_id: ScheduleId,
    start: Annotated[AwareDatetime, Query(description="ISO 8601 with an offset.")],
    end: Annotated[AwareDatetime, Query(description="After start, 400 days at most.")],
) -> TimelineRead:
    return schedules.timeline(ctx, actor, schedule_id, start, end)


@feeds_router.post(
    "",
    operation_id="createCalendarFeed",
    summary="Make a secret iCal URL for a schedule or your own shifts",
    status_code=201,
    response_model=FeedCreated,
    responses=problem_responses(400, 404, 422),
)
def create_feed(ctx: CtxDep, actor: ActorDep, body: FeedCreate) -> FeedCreated:
    """The URL works without a token; anyone holding it sees the shifts, so
    it is shown once. Revoke it if it leaks."""
    if actor.user_id is None:
        raise InvalidInput("only a user can own a calendar feed")
    made = ical.create_feed(
        ctx, actor, user_id=actor.user_id, schedule_id=body.schedule_id
    )
    return FeedCreated(**_feed(made.feed).model_dump(), url=made.url)


@feeds_router.get(
    "",
    operation_id="listCalendarFeeds",
    summary="Your calendar feeds",
    response_model=list[FeedRead],
    responses=problem_responses(400),
)
def list_feeds(ctx: CtxDep, actor: ActorDep) -> list[FeedRead]:
    if actor.user_id is None:
        raise InvalidInput("only a user has calendar feeds")
    return [_feed(feed) for feed in ical.list_feeds(ctx, actor, actor.user_id)]


@feeds_router.delete(
    "/{feed_id}",
    operation_id="revokeCalendarFeed",
    summary="Revoke a calendar feed: its URL stops working",
    response_model=FeedRead,
    responses=problem_responses(404, 422),
)
def revoke_feed(
    ctx: CtxDep,
    actor: ActorDep,
    feed_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> FeedRead:
    return _feed(ical.revoke_feed(ctx, actor, feed_id))


def _feed(feed: ical.FeedRead) -> FeedRead:
    return FeedRead(
        id=feed.id,
        schedule_id=feed.schedule_id,
        prefix=feed.prefix,
        created_at=feed.created_at,
        revoked_at=feed.revoked_at,
    )
