"""What the schedule services return and the API serialises.

Times are UTC instants, except `start_local`, which is read on the schedule's
wall clock and carries no offset on purpose.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tocsin.schemas import UserRef


class RestrictionRead(BaseModel):
    days: list[str] = Field(description="Days the window opens on, mon to sun.")
    start: str = Field(description="Local time the window opens, HH:MM.")
    end: str = Field(
        description="Local time it closes, HH:MM; at or before `start`: next day."
    )


class RotationRead(BaseModel):
    """One version of a layer's rotation."""

    id: int
    effective_from: datetime | None = Field(
        description="From when this version renders; null: from always."
    )
    members: list[UserRef]
    shift_unit: str
    shift_count: int
    start_local: datetime = Field(
        description="The first handoff on the schedule's wall clock, no offset."
    )
    restrictions: list[RestrictionRead]


class LayerRead(BaseModel):
    id: int
    name: str
    position: int = Field(description="A higher layer wins where it has someone.")
    removed_at: datetime | None
    rotation: RotationRead = Field(description="The version in effect now.")
    upcoming: list[RotationRead] = Field(description="Versions that take effect later.")


class OverrideRead(BaseModel):
    id: int
    user: UserRef
    start: datetime
    end: datetime


class ScheduleRead(BaseModel):
    id: int
    name: str
    description: str
    team_id: int
    team: str
    time_zone: str
    on_call_now: list[UserRef]


class ScheduleDetail(ScheduleRead):
    layers: list[LayerRead]
    overrides: list[OverrideRead] = Field(
        description="Overrides that have not ended yet, soonest first."
    )


class SpanRead(BaseModel):
    """A span of the final timeline: who is on call, or nobody (a gap)."""

    start: datetime
    end: datetime
    user: UserRef | None


class TimelineRead(BaseModel):
    schedule_id: int
    time_zone: str
    start: datetime
    end: datetime
    spans: list[SpanRead] = Field(
        description="Contiguous and non-overlapping, covering start to end."
    )
    gaps: list[SpanRead] = Field(description="The spans with nobody on call.")


class OnCallRead(BaseModel):
    schedule_id: int
    at: datetime
    users: list[UserRef] = Field(description="Empty when nobody is on call.")
    until: datetime | None = Field(
        description="When this changes next, looking at most 400 days ahead."
    )
