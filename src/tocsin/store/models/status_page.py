"""The public status page: components, public incidents, maintenance, subscribers.

Everything here is meant to be seen by the public, except subscribers' addresses
and the rate-limit tally. A public incident may link to a Tocsin incident, but
carries its own title and updates: nothing is copied from the internal record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt

status_incident_components = Table(
    "status_incident_components",
    Base.metadata,
    Column(
        "status_incident_id",
        ForeignKey("status_incidents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "component_id",
        ForeignKey("status_components.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

status_maintenance_components = Table(
    "status_maintenance_components",
    Base.metadata,
    Column(
        "maintenance_id",
        ForeignKey("status_maintenances.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "component_id",
        ForeignKey("status_components.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class StatusComponentGroup(CreatedAt, Base):
    """A heading that components are shown under ("API", "Web app")."""

    __tablename__ = "status_component_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)


class StatusComponent(CreatedAt, Base):
    """A part of the product shown with a state.

    `state` is the effective state, kept in step by the services; `manual_state`
    is the operator's choice, which wins while it is set (see
    tocsin.domain.status_page.effective_state).
    """

    __tablename__ = "status_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("status_component_groups.id", ondelete="SET NULL")
    )
    # Incidents of this service, published to the page, affect this component.
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL")
    )
    position: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(20), default="operational")
    manual_state: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime]

    group: Mapped[StatusComponentGroup | None] = relationship()


class StatusComponentChange(Base):
    """The component's effective state from `at` on: the uptime history's source."""

    __tablename__ = "status_component_changes"
    __table_args__ = (
        Index("ix_status_component_changes_component_at", "component_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        ForeignKey("status_components.id", ondelete="CASCADE")
    )
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))


class StatusIncident(CreatedAt, Base):
    """An incident as the public sees it."""

    __tablename__ = "status_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # The state it puts its components in while open: degraded, partial_outage
    # or major_outage.
    impact: Mapped[str] = mapped_column(String(20))
    # investigating | identified | monitoring | resolved
    stage: Mapped[str] = mapped_column(String(20))
    # At most one public incident per Tocsin incident.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), unique=True
    )
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)

    components: Mapped[list[StatusComponent]] = relationship(
        secondary=status_incident_components, order_by="StatusComponent.position"
    )
    updates: Mapped[list[StatusIncidentUpdate]] = relationship(
        back_populates="status_incident",
        order_by="StatusIncidentUpdate.id",
        cascade="all, delete-orphan",
    )


class StatusIncidentUpdate(Base):
    """One public message on a public incident."""

    __tablename__ = "status_incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    status_incident_id: Mapped[int] = mapped_column(
        ForeignKey("status_incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    stage: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)

    status_incident: Mapped[StatusIncident] = relationship(back_populates="updates")


class StatusMaintenance(CreatedAt, Base):
    """Scheduled work; its components show `maintenance` while it runs."""

    __tablename__ = "status_maintenances"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    components: Mapped[list[StatusComponent]] = relationship(
        secondary=status_maintenance_components, order_by="StatusComponent.position"
    )


class StatusSubscriber(CreatedAt, Base):
    """An email address that asked for news of the status page.

    Only confirmed subscribers get mail. `nonce` is part of every token sent to
    the address, so a new subscription voids the links of an earlier one.
    """

    __tablename__ = "status_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    nonce: Mapped[str] = mapped_column(String(32))
    confirmation_sent_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class StatusSubscribeAttempt(Base):
    """A subscribe form sent from one client, for the per-client rate limit.

    `client` is a keyed hash of the address, never the address itself; rows
    older than the limit's window are deleted as new ones come.
    """

    __tablename__ = "status_subscribe_attempts"
    __table_args__ = (Index("ix_status_subscribe_attempts_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)
