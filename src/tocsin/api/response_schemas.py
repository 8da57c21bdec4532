"""Request bodies of the coordinated response API, named by direction.

Each body forbids unknown fields, so a misspelt field is a 422 problem rather
than something silently ignored; the services check the values themselves
(a 400 problem), so the CLI gets the same rules.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.schemas import MAX_ID

Audience = Literal["internal", "executive", "customers"]
TaskStatusName = Literal["open", "in_progress", "done", "cancelled"]
NoteTagName = Literal["diagnostic_step", "finding", "decision", "action"]
StepKind = Literal["check", "rollback"]


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleCreate(_Create):
    key: str = Field(max_length=40, examples=["liaison"])
    name: str = Field(max_length=100, examples=["Customer liaison"])
    description: str = Field(default="", max_length=500)


class RoleUpdate(_Create):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    retired: bool | None = Field(
        default=None, description="Retired roles cannot be assigned."
    )


class RoleAssign(_Create):
    user_id: int = Field(ge=1, le=MAX_ID, description="Who takes the role.")


class ResponderAdd(_Create):
    """Exactly one of the three."""

    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    policy_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="An escalation policy: its first step is paged.",
    )


class TaskCreate(_Create):
    title: str = Field(max_length=500, examples=["Ask the DBA to fail over"])
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    due_at: AwareDatetime | None = Field(
        default=None, description="ISO 8601 with a UTC offset."
    )


class TaskUpdate(_Create):
    """Only the fields sent change; `owner_id` or `due_at` null clears them."""

    title: str | None = Field(default=None, max_length=500)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    due_at: AwareDatetime | None = None
    status: TaskStatusName | None = None


class RunbookStepCreate(_Create):
    text: str = Field(max_length=1000)
    kind: StepKind = Field(
        default="check",
        description="`rollback` links to the service's most recent change.",
    )


class RunbookCreate(_Create):
    name: str = Field(max_length=200)
    body: str = Field(default="", max_length=100_000, description="Markdown.")
    team: str | None = Field(
        default=None, max_length=200, description="The team that keeps it."
    )
    steps: list[RunbookStepCreate] = Field(default_factory=list, max_length=100)
    services: list[str] = Field(default_factory=list, max_length=50)
    incident_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Incident type names (or keys) it applies to.",
    )


class ChecklistCreate(_Create):
    runbook_id: int = Field(ge=1, le=MAX_ID)


class ChecklistItemUpdate(_Create):
    done: bool


class NoteUpdate(_Create):
    """Only the author or a manager may edit; every edit keeps a version."""

    text: str | None = Field(default=None, max_length=20_000)
    tag: NoteTagName | None = None
    clear_tag: bool = False


class TemplateCreate(_Create):
    name: str = Field(max_length=200)
    audience: Audience
    incident_type: str | None = Field(
        default=None,
        max_length=100,
        description="Incident type name it is for; null for any type.",
    )
    subject: str = Field(max_length=500, examples=["#{{ incident.number }} update"])
    body: str = Field(
        max_length=20_000,
        examples=["{{ incident.title }}: {{ impact }}. Next update {{ eta }}."],
    )


class UpdateCreate(_Create):
    """From a template (named, or the one for the incident's type and the
    audience) with variables, or written out as subject and body."""

    audience: Audience
    template: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=20_000)
    variables: dict[str, str] = Field(default_factory=dict)
    eta: AwareDatetime | None = None
    status_page: bool = Field(
        default=False, description="Also post the body to the public status page."
    )


class SubscriptionCreate(_Create):
    """An internal address for one incident's updates, or a team's."""

    address: str = Field(
        max_length=320,
        description="An email address, or for `slack` a channel id or webhook URL.",
        examples=["war-room@example.com"],
    )
    kind: Literal["email", "slack"] = "email"
    incident_number: int | None = Field(default=None, ge=1, le=MAX_ID)
    team: str | None = Field(default=None, max_length=200)
