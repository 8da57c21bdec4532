"""Trained triage models and the suggestions they made (tocsin.ai)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.types import JSONType


class AiModel(CreatedAt, Base):
    """A trained model; the newest one is the one in use."""

    __tablename__ = "ai_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    # history (the organisation's own incidents) | synthetic (the bundled set,
    # with what history there was, below the threshold).
    source: Mapped[str] = mapped_column(String(20))
    examples: Mapped[int]
    history: Mapped[int]
    fields: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    artefact: Mapped[bytes] = mapped_column(LargeBinary)


class AiSuggestion(CreatedAt, Base):
    """What was suggested for one field of an incident, and what people did."""

    __tablename__ = "ai_suggestions"
    __table_args__ = (UniqueConstraint("incident_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # severity | incident_type | service
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # rules | synthetic | history
    source: Mapped[str] = mapped_column(String(20))
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_models.id", ondelete="SET NULL")
    )
    # pending | accepted | overridden
    outcome: Mapped[str] = mapped_column(String(20), default="pending")
    chosen: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
