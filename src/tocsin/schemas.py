"""Read models that services return and the API serialises.

Services hand these out instead of ORM objects, so nothing outside a transaction
can lazily load a relationship from a closed session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserRef(_Read):
    id: int
    name: str
    email: str


class TimelineEntryRead(_Read):
    id: int
    at: datetime
    kind: str
    actor_label: str
    message: str
    data: dict[str, Any]


class AlertRead(_Read):
    id: int
    dedup_key: str
    status: str
    summary: str
    source: str
    severity: str
    labels: dict[str, Any]
    event_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class ServiceRef(_Read):
    id: int
    name: str


class IncidentTypeRef(_Read):
    id: int
    key: str
    name: str


class ChangeRead(_Read):
    """A change event: a deploy, a configuration change or a feature flag."""

    id: int
    service: ServiceRef
    kind: str
    summary: str
    link: str
    version: str
    at: datetime
    source: str
    created_at: datetime


class IncidentRead(_Read):
    id: int
    number: int
    title: str
    description: str
    status: str
    severity: str
    service: ServiceRef
    assignee: UserRef | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UserRef | None
    resolved_at: datetime | None
    resolved_by: UserRef | None
    # Triage (tocsin.services.triage). Defaults keep older callers valid.
    priority: str | None = None
    impact: str | None = None
    urgency: str | None = None
    incident_type: IncidentTypeRef | None = None
    stage: str | None = None
    affected_services: list[ServiceRef] = Field(default_factory=list)
    customers_affected: int | None = None
    customers_affected_estimated: bool = False
    business_impact: str = ""
    impact_financial: bool = False
    impact_reputational: bool = False
    impact_legal: bool = False
    declared: bool = False
    declared_reason: str = ""
    declared_at: datetime | None = None
    declared_by_label: str = ""
    identified_at: datetime | None = None
    monitoring_at: datetime | None = None


class RoleHolderRead(BaseModel):
    """Who holds (or held) an incident role (services.roles)."""

    role: str
    role_name: str
    user: UserRef
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None


class IncidentDetail(IncidentRead):
    alerts: list[AlertRead]
    timeline: list[TimelineEntryRead]
    # Changes to the service shortly before the incident began (newest first).
    recent_changes: list[ChangeRead] = []
    # Who holds which incident role now, in the catalogue's order.
    roles: list[RoleHolderRead] = []


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    total: int
    limit: int
    offset: int


class TeamRef(_Read):
    id: int
    name: str


class TokenRef(_Read):
    id: int
    name: str
    prefix: str
    expires_at: datetime | None


class MeRead(BaseModel):
    """Who a request acts as: the user, their role and teams, and the token used."""

    user: UserRef
    role: str
    teams: list[TeamRef]
    token: TokenRef | None
