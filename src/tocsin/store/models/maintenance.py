"""Maintenance windows: spans when a service's incidents page nobody."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.models.base import Base, CreatedAt


class MaintenanceWindow(CreatedAt, Base):
    """One span, or a span repeated daily or weekly at the same local wall-clock
    time in `time_zone` (see tocsin.domain.maintenance)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(500), default="")
    # The first occurrence, in UTC.
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # once | daily | weekly
    recurrence: Mapped[str] = mapped_column(String(10), default="once")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # No occurrence starts at or after this instant; None: no end.
    repeat_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
