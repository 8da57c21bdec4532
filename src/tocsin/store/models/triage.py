"""Triage: the configurable scales and matrix, incident types, reports waiting
for triage, who triages them, and the rules that declare incidents."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import Team, User
from tocsin.store.models.services import Service
from tocsin.store.types import JSONType

if TYPE_CHECKING:
    from tocsin.store.models.incidents import Incident


class TriageLevel(Base):
    """One level of a scale: severity, impact, urgency or priority."""

    __tablename__ = "triage_levels"
    __table_args__ = (UniqueConstraint("scale", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # severity | impact | urgency | priority; see tocsin.domain.triage.Scale.
    scale: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50))
    # 1 is the worst (SEV1, P1, high impact).
    rank: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[str] = mapped_column(Text, default="")


class PriorityCell(Base):
    """One cell of the impact x urgency matrix: the priority it yields."""

    __tablename__ = "priority_matrix"

    impact: Mapped[str] = mapped_column(String(10), primary_key=True)
    urgency: Mapped[str] = mapped_column(String(10), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10))


class IncidentType(CreatedAt, Base):
    """A kind of incident (outage, security, data loss, ...); runbooks and
    message templates can hang off it."""

    __tablename__ = "incident_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Severity a declaration of this type starts at unless told otherwise.
    default_severity: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)


class IncidentService(Base):
    """A service an incident affects, beyond the one it belongs to."""

    __tablename__ = "incident_services"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Report(CreatedAt, Base):
    """A problem raised by a person, waiting in the incident log for triage."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_created", "status", "created_at"),
        Index("ix_reports_client_created", "client_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # staff | customer | email
    source: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True
    )
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    reporter_email: Mapped[str] = mapped_column(String(320), default="")
    # A keyed digest of the sender's IP address: enough to rate-limit a
    # public form, not enough to tell who they were.
    client_key: Mapped[str] = mapped_column(String(64), default="")
    # Facts a source keeps (an email's Message-ID, say), never shown raw.
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # untriaged | declared | dismissed; see tocsin.domain.triage.ReportStatus.
    status: Mapped[str] = mapped_column(String(20), default="untriaged")
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    triaged_at: Mapped[datetime | None]
    triaged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    triaged_by_label: Mapped[str] = mapped_column(String(200), default="")
    triage_reason: Mapped[str] = mapped_column(Text, default="")
    owner_notified_at: Mapped[datetime | None]

    service: Mapped[Service | None] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_user_id])
    incident: Mapped[Incident | None] = relationship()

    @property
    def reference(self) -> str:
        return f"R-{self.id}"


class TriageOwner(CreatedAt, Base):
    """Who triages reports of a service, of every service of a team, or (with
    neither) of everything else: a schedule's on-call person, or one user."""

    __tablename__ = "triage_owners"
    __table_args__ = (
        # Neither: the default owner, for reports that name no service.
        CheckConstraint("service_id IS NULL OR team_id IS NULL", name="one_scope"),
        CheckConstraint("(schedule_id IS NULL) <> (user_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), unique=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), unique=True
    )
    # The schedules table belongs to the schedules feature; the id is checked
    # when the owner is set, and a vanished schedule pages nobody.
    schedule_id: Mapped[int | None]
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )

    service: Mapped[Service | None] = relationship()
    team: Mapped[Team | None] = relationship()
    user: Mapped[User | None] = relationship()


class DeclarationTrigger(CreatedAt, Base):
    """A rule over alerts that declares an incident when enough match."""

    __tablename__ = "declaration_triggers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    # None: alerts of any service count.
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    # Label matchers as text, such as ["env=prod", "instance=~db-.*"].
    matchers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    min_alert_severity: Mapped[str] = mapped_column(String(20), default="error")
    alert_count: Mapped[int] = mapped_column(default=1)
    window_minutes: Mapped[int] = mapped_column(default=10)
    severity: Mapped[str] = mapped_column(String(10))
    incident_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_types.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime]

    service: Mapped[Service | None] = relationship()
    incident_type: Mapped[IncidentType | None] = relationship()
