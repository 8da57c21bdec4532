"""Alerts, incidents, and the timeline that records what happened to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import User
from tocsin.store.models.services import Integration, Service
from tocsin.store.models.triage import IncidentType
from tocsin.store.types import JSONType


class Incident(CreatedAt, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per alert group: parallel first deliveries of
        # one Alertmanager group race here and exactly one wins.
        Index(
            "uq_incidents_open_group",
            "service_id",
            "group_key",
            unique=True,
            sqlite_where=text("status != 'resolved' AND group_key IS NOT NULL"),
            postgresql_where=text("status != 'resolved' AND group_key IS NOT NULL"),
        ),
        Index("ix_incidents_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    # triggered | acknowledged | resolved; see tocsin.domain.incidents.
    status: Mapped[str] = mapped_column(String(20), default="triggered")
    # sev1 (worst) .. sev4
    severity: Mapped[str] = mapped_column(String(10), default="sev3")
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    group_key: Mapped[str | None] = mapped_column(String(512))

    # Escalation position, copied from the policy when the incident starts.
    escalation_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation_policies.id")
    )
    escalation_step: Mapped[int] = mapped_column(default=0)
    escalation_loop: Mapped[int] = mapped_column(default=0)

    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]

    # Triage (tocsin.services.triage): priority comes from impact x urgency.
    priority: Mapped[str | None] = mapped_column(String(10))
    impact: Mapped[str | None] = mapped_column(String(10))
    urgency: Mapped[str | None] = mapped_column(String(10))
    incident_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident_types.id", ondelete="SET NULL")
    )
    # investigating | identified | monitoring | resolved, once declared.
    stage: Mapped[str | None] = mapped_column(String(20))
    customers_affected: Mapped[int | None]
    # True when customers_affected is a guess rather than a count.
    customers_affected_estimated: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    business_impact: Mapped[str] = mapped_column(Text, default="", server_default="")
    impact_financial: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    impact_reputational: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    impact_legal: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Declared: opened on purpose by a person or a declaration trigger. The
    # lifecycle stamps below are set once and never overwritten.
    declared: Mapped[bool] = mapped_column(default=False, server_default=false())
    declared_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    declared_at: Mapped[datetime | None]
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_by_label: Mapped[str] = mapped_column(
        String(200), default="", server_default=""
    )
    identified_at: Mapped[datetime | None]
    monitoring_at: Mapped[datetime | None]

    service: Mapped[Service] = relationship()
    # Selectin, not joined: a joined load would put an outer join under the
    # FOR UPDATE of a locked incident, which PostgreSQL refuses.
    incident_type: Mapped[IncidentType | None] = relationship(lazy="selectin")
    affected_services: Mapped[list[Service]] = relationship(
        secondary="incident_services",
        order_by="Service.name",
        lazy="selectin",
        viewonly=True,
    )
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    acknowledged_by: Mapped[User | None] = relationship(
        foreign_keys=[acknowledged_by_id]
    )
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    alerts: Mapped[list[Alert]] = relationship(
        back_populates="incident", order_by="Alert.id"
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", order_by="TimelineEntry.id"
    )


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # One open alert per dedup key and integration; this index is what makes
        # deduplication race-free.
        Index(
            "uq_alerts_open_dedup",
            "integration_id",
            "dedup_key",
            unique=True,
            sqlite_where=text("status = 'firing'"),
            postgresql_where=text("status = 'firing'"),
        ),
        Index("ix_alerts_integration_dedup", "integration_id", "dedup_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE")
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id"), index=True
    )
    dedup_key: Mapped[str] = mapped_column(String(255))
    # firing | resolved
    status: Mapped[str] = mapped_column(String(20), default="firing")
    summary: Mapped[str] = mapped_column(String(1024))
    source: Mapped[str] = mapped_column(String(255), default="")
    severity: Mapped[str] = mapped_column(String(20), default="error")
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # SHA-256 of the last event's content: an identical repeat changes nothing.
    content_hash: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    integration: Mapped[Integration] = relationship()
    incident: Mapped[Incident | None] = relationship(back_populates="alerts")


class TimelineEntry(Base):
    """One line of an incident's story. Domain data, shown to people."""

    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline")


class Counter(Base):
    """Named sequences that must not skip, such as incident numbers."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
