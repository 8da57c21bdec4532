"""On-call schedules: layers, the versions of their rotations, overrides, and
the secret calendar feeds that export them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import Team, User
from tocsin.store.types import JSONType


class Schedule(CreatedAt, Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    # An IANA zone name; handoffs and restrictions are read on its wall clock.
    time_zone: Mapped[str] = mapped_column(String(64))

    team: Mapped[Team] = relationship()
    layers: Mapped[list[ScheduleLayer]] = relationship(
        back_populates="schedule",
        order_by="ScheduleLayer.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ScheduleLayer(CreatedAt, Base):
    """One rotation of a schedule. A higher position wins where it has
    someone on call. A removed layer keeps its history for renders of the
    past."""

    __tablename__ = "schedule_layers"
    __table_args__ = (UniqueConstraint("schedule_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    removed_at: Mapped[datetime | None]

    schedule: Mapped[Schedule] = relationship(back_populates="layers")
    versions: Mapped[list[ScheduleRotation]] = relationship(
        back_populates="layer",
        order_by="ScheduleRotation.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ScheduleRotation(CreatedAt, Base):
    """A layer's rotation from `effective_from` (null: from always) until its
    next version takes effect. Versions are only ever added, so a render of
    the past reads the rotation as it then was."""

    __tablename__ = "schedule_rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_layers.id", ondelete="CASCADE"), index=True
    )
    effective_from: Mapped[datetime | None]
    # hours | days | weeks; a shift lasts shift_count of them on the wall clock.
    shift_unit: Mapped[str] = mapped_column(String(10))
    shift_count: Mapped[int]
    # The first handoff, read on the schedule's wall clock (no offset on
    # purpose: it is a local time, resolved by the handoff rule).
    start_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    # [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}, ...]
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    layer: Mapped[ScheduleLayer] = relationship(back_populates="versions")
    members: Mapped[list[ScheduleRotationMember]] = relationship(
        order_by="ScheduleRotationMember.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ScheduleRotationMember(Base):
    __tablename__ = "schedule_rotation_members"

    rotation_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_rotations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    user: Mapped[User] = relationship()


class ScheduleOverride(CreatedAt, Base):
    """`user_id` takes over the schedule for [start_at, end_at)."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_span", "schedule_id", "end_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class CalendarFeed(CreatedAt, Base):
    """A secret iCal URL: one schedule's timeline, or (without a schedule)
    the shifts of its user across every schedule. Only the token's SHA-256
    is kept."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None]
