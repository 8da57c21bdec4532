"""Read models of the coordinated response: what the response services return
and the API serialises (see tocsin.schemas for why they are not ORM objects)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

# Re-exported: the incident detail shows role holders too, so it lives there.
from tocsin.schemas import RoleHolderRead as RoleHolderRead
from tocsin.schemas import UserRef


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RoleRead(_Read):
    key: str
    name: str
    description: str
    position: int
    retired: bool


class ParticipantRead(BaseModel):
    user: UserRef
    joined_at: datetime
    via: str


class ResponderRead(BaseModel):
    """A request for help: whom it named and who asked."""

    id: int
    kind: str
    target: str
    added_at: datetime
    added_by: str


class ResponseTeamRead(BaseModel):
    responders: list[ResponderRead]
    participants: list[ParticipantRead]


class RunbookStepRead(_Read):
    position: int
    text: str
    kind: str


class RunbookRead(BaseModel):
    id: int
    name: str
    body: str
    body_html: str
    team: str | None
    services: list[str]
    incident_types: list[str]
    steps: list[RunbookStepRead]
    updated_at: datetime


class ChangeLink(BaseModel):
    """The change event a rollback step points at."""

    id: int
    summary: str
    at: datetime
    url: str | None = None


class ChecklistItemRead(BaseModel):
    id: int
    position: int
    text: str
    kind: str
    done: bool
    done_at: datetime | None
    done_by: str
    # Rollback steps only: the service's most recent change (or, once checked,
    # the change it was checked against); None when there is none to link.
    change: ChangeLink | None = None


class ChecklistRead(BaseModel):
    id: int
    name: str
    runbook_id: int | None
    created_at: datetime
    items: list[ChecklistItemRead]


class TaskRead(_Read):
    id: int
    title: str
    owner: UserRef | None
    due_at: datetime | None
    status: str
    overdue: bool = False
    created_at: datetime
    created_by_label: str
    updated_at: datetime


class NoteRead(BaseModel):
    id: int
    text: str
    text_html: str
    tag: str | None
    pinned: bool
    author: str
    author_user_id: int | None
    created_at: datetime
    updated_at: datetime
    edits: int


class NoteVersionRead(_Read):
    text: str
    tag: str | None
    written_at: datetime
    replaced_at: datetime
    replaced_by_label: str


class TemplateRead(_Read):
    id: int
    name: str
    incident_type: str | None
    audience: str
    subject: str
    body: str
    updated_at: datetime


class RenderedUpdate(BaseModel):
    subject: str
    body: str


class TemplatePreview(RenderedUpdate):
    """A template rendered for a sample incident; `variables` are the names
    the sender fills in, shown as `[name]`."""

    variables: list[str]


class UpdateRead(_Read):
    id: int
    audience: str
    template_id: int | None
    subject: str
    body: str
    eta: datetime | None
    status_page: bool
    status_page_published: bool
    recipients: int
    author_label: str
    created_at: datetime


class SubscriptionRead(BaseModel):
    id: int
    incident_number: int | None
    team: str | None
    kind: str
    address: str
