"""Coordinated response: roles, responders, runbooks and their checklists, tasks,
timeline notes and stakeholder updates.

Rows that belong to an incident go when the incident goes (ON DELETE CASCADE);
catalogue rows (roles, runbooks, templates) outlive the incidents that used
them, which keep copies of what they showed (a checklist's items, an update's
rendered text).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import User


class ResponseRole(CreatedAt, Base):
    """A role of the catalogue, such as incident commander. Retired roles stay,
    so past assignments keep their name; they cannot be assigned any more."""

    __tablename__ = "response_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    retired: Mapped[bool] = mapped_column(default=False)


class RoleAssignment(Base):
    """Who held a role on an incident, from when until when (None: still)."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        # One current holder per role and incident: two people assigning the
        # commander at once cannot both win.
        Index(
            "uq_role_assignments_current",
            "incident_id",
            "role_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    role_id: Mapped[int] = mapped_column(ForeignKey("response_roles.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    assigned_by_label: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None]

    role: Mapped[ResponseRole] = relationship()
    user: Mapped[User] = relationship()


class IncidentResponder(Base):
    """A request for help: a user, a team or an escalation policy was added."""

    __tablename__ = "incident_responders"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # user | team | policy
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_policies.id"))
    target_label: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime]
    added_by_label: Mapped[str] = mapped_column(String(200))


class IncidentParticipant(Base):
    """A person taking part in an incident, and how they came to."""

    __tablename__ = "incident_participants"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    joined_at: Mapped[datetime]
    # "added directly", "team Payments", "policy Payments default", "role ..."
    via: Mapped[str] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class Runbook(CreatedAt, Base):
    """Markdown guidance with an ordered checklist, for services and incident
    types. Incident types are keyed by name (see RunbookLink)."""

    __tablename__ = "runbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    # The team whose responders may edit it; None: only admins.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    updated_at: Mapped[datetime]

    steps: Mapped[list[RunbookStep]] = relationship(
        order_by="RunbookStep.position", cascade="all, delete-orphan"
    )
    links: Mapped[list[RunbookLink]] = relationship(
        order_by="RunbookLink.id", cascade="all, delete-orphan"
    )


class RunbookStep(Base):
    __tablename__ = "runbook_steps"
    __table_args__ = (UniqueConstraint("runbook_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    runbook_id: Mapped[int] = mapped_column(
        ForeignKey("runbooks.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(1000))
    # check | rollback (links to the service's most recent change event)
    kind: Mapped[str] = mapped_column(String(20), default="check")


class RunbookLink(Base):
    """A runbook applies to a service, or to incidents of a type (by name)."""

    __tablename__ = "runbook_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    runbook_id: Mapped[int] = mapped_column(
        ForeignKey("runbooks.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE")
    )
    incident_type: Mapped[str | None] = mapped_column(String(100))


class IncidentChecklist(Base):
    """A runbook's checklist copied onto an incident: later edits of the runbook
    do not change what responders already worked through."""

    __tablename__ = "incident_checklists"
    __table_args__ = (UniqueConstraint("incident_id", "runbook_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    runbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("runbooks.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by_label: Mapped[str] = mapped_column(String(200))

    items: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position", cascade="all, delete-orphan"
    )


class ChecklistItem(Base):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("checklist_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(
        ForeignKey("incident_checklists.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20), default="check")
    done_at: Mapped[datetime | None]
    done_by_label: Mapped[str] = mapped_column(String(200), default="")
    # For a rollback step: the change event it linked to when it was checked.
    change_event_id: Mapped[int | None]


class IncidentTask(Base):
    __tablename__ = "incident_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None]
    # open | in_progress | done | cancelled
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime]
    created_by_label: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    # Set when the owner was reminded of the current due time.
    reminded_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship()


class IncidentNote(Base):
    """A note on an incident's timeline. Edits keep the earlier text in
    NoteVersion rows; the timeline entry shows the latest."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    timeline_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("timeline_entries.id", ondelete="SET NULL")
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # diagnostic_step | finding | decision | action, or None
    tag: Mapped[str | None] = mapped_column(String(20))
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    versions: Mapped[list[NoteVersion]] = relationship(
        order_by="NoteVersion.id", cascade="all, delete-orphan"
    )


class NoteVersion(Base):
    """A note's text and tag as they were before one edit."""

    __tablename__ = "note_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(
        ForeignKey("incident_notes.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    tag: Mapped[str | None] = mapped_column(String(20))
    written_at: Mapped[datetime]
    replaced_at: Mapped[datetime]
    replaced_by_label: Mapped[str] = mapped_column(String(200))


class UpdateTemplate(CreatedAt, Base):
    """A stakeholder message with Jinja2 variables, rendered in a sandbox."""

    __tablename__ = "update_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Incidents of this type (by name); None: any type.
    incident_type: Mapped[str | None] = mapped_column(String(100))
    # internal | executive | customers
    audience: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class IncidentUpdate(Base):
    """A stakeholder update as it was sent."""

    __tablename__ = "incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("update_templates.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    eta: Mapped[datetime | None]
    # Asked to go to the status page, and whether it went.
    status_page: Mapped[bool] = mapped_column(default=False)
    status_page_published: Mapped[bool] = mapped_column(default=False)
    recipients: Mapped[int] = mapped_column(default=0)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class UpdateSubscription(CreatedAt, Base):
    """An internal address that receives an incident's (or a team's incidents')
    stakeholder updates."""

    __tablename__ = "update_subscriptions"
    __table_args__ = (
        Index("ix_update_subscriptions_incident", "incident_id"),
        Index("ix_update_subscriptions_team", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE")
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE")
    )
    # email | slack
    kind: Mapped[str] = mapped_column(String(20), default="email")
    address: Mapped[str] = mapped_column(String(320))
