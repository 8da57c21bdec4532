"""Notification rules: when, after a page starts, each contact method is used."""

from __future__ import annotations

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import ContactMethod


class NotificationRule(CreatedAt, Base):
    """Use `contact_method` `delay_minutes` after a page to its user starts,
    if the incident is still unacknowledged then. A user without rules is
    reached on every contact method at once."""

    __tablename__ = "notification_rules"
    __table_args__ = (UniqueConstraint("contact_method_id", "delay_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    contact_method_id: Mapped[int] = mapped_column(
        ForeignKey("contact_methods.id", ondelete="CASCADE")
    )
    delay_minutes: Mapped[int] = mapped_column(default=0)

    contact_method: Mapped[ContactMethod] = relationship()
