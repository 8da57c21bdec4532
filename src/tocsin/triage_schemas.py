"""Read models of triage: scales, the matrix, incident types, reports, triage
owners and declaration triggers. Services return these; the API serialises
them (incident read models live in `tocsin.schemas`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tocsin.schemas import ServiceRef, TeamRef, UserRef


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LevelRead(_Read):
    key: str
    name: str
    rank: int
    description: str
    examples: str


class MatrixCell(_Read):
    impact: str
    urgency: str
    priority: str


class TriageScalesRead(BaseModel):
    """Every scale worst first, and the matrix that yields a priority."""

    severity: list[LevelRead]
    impact: list[LevelRead]
    urgency: list[LevelRead]
    priority: list[LevelRead]
    matrix: list[MatrixCell]


class IncidentTypeRead(_Read):
    id: int
    key: str
    name: str
    description: str
    default_severity: str | None
    active: bool


class IncidentNumber(_Read):
    number: int
    title: str


class OwnerPageRead(_Read):
    """One message to a report's triage owner: when, to whom, by which kind of
    contact method, and what became of it (queued, scheduled, held back)."""

    at: datetime
    name: str
    channel: str
    outcome: str
    reminder: int


class ReportRead(_Read):
    id: int
    reference: str
    source: str
    status: str
    title: str
    description: str
    service: ServiceRef | None
    reporter: UserRef | None
    reporter_name: str
    reporter_email: str
    created_at: datetime
    triaged_at: datetime | None
    triaged_by_label: str
    triage_reason: str
    incident: IncidentNumber | None
    # Filled in for one report (get_report), left empty in lists.
    owner_pages: list[OwnerPageRead] = []


class ReportPage(BaseModel):
    items: list[ReportRead]
    total: int
    limit: int
    offset: int


class ReportReceipt(BaseModel):
    """What a customer is told after reporting: only the reference."""

    reference: str


class TriageOwnerRead(_Read):
    id: int
    service: ServiceRef | None
    team: TeamRef | None
    schedule_id: int | None
    user: UserRef | None


class TriggerRead(_Read):
    id: int
    name: str
    enabled: bool
    service: ServiceRef | None
    matchers: list[str]
    min_alert_severity: str
    alert_count: int
    window_minutes: int
    severity: str
    incident_type: IncidentTypeRead | None
    created_at: datetime
    updated_at: datetime
