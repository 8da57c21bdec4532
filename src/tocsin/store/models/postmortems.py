"""Learning after an incident: postmortems, their review, action items and the
participants' feedback.

A postmortem covers one incident or a group of related ones; an incident is in
at most one. Its sections are markdown kept in one JSON object keyed by
section (see tocsin.domain.postmortems.SECTIONS), so a template can leave a
section out without a column standing empty. Action items outlive the
incident's other rows only as long as their postmortem does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tocsin.store.models.base import Base, CreatedAt
from tocsin.store.models.people import User
from tocsin.store.models.response import Runbook
from tocsin.store.types import JSONType


class PostmortemTemplate(CreatedAt, Base):
    """Headings' guidance per section; the default one is used when a postmortem
    names none. Admins edit them; postmortems keep the text they started from."""

    __tablename__ = "postmortem_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # section key -> markdown guidance placed under the heading
    sections: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_default: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class Postmortem(CreatedAt, Base):
    __tablename__ = "postmortems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    # draft | in_review | published
    status: Mapped[str] = mapped_column(String(20), default="draft")
    template_name: Mapped[str] = mapped_column(String(100))
    # The team of the first incident: who may see and edit it.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    # The worst severity of its incidents, which sets the due date.
    severity: Mapped[str] = mapped_column(String(10))
    sections: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    five_whys: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    due_at: Mapped[datetime]
    # Set when the owners were reminded of the current due date.
    reminded_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_label: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    links: Mapped[list[PostmortemIncident]] = relationship(
        order_by="PostmortemIncident.position", cascade="all, delete-orphan"
    )
    reviewers: Mapped[list[PostmortemReviewer]] = relationship(
        order_by="PostmortemReviewer.user_id", cascade="all, delete-orphan"
    )
    comments: Mapped[list[PostmortemComment]] = relationship(
        order_by="PostmortemComment.id", cascade="all, delete-orphan"
    )


class PostmortemIncident(Base):
    __tablename__ = "postmortem_incidents"

    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), primary_key=True
    )
    # Unique: an incident is written up once.
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, unique=True
    )
    position: Mapped[int] = mapped_column(default=0)


class PostmortemReviewer(Base):
    __tablename__ = "postmortem_reviewers"

    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class PostmortemComment(Base):
    __tablename__ = "postmortem_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ActionItem(CreatedAt, Base):
    """Follow-up work from a postmortem, tracked until done."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    # prevent | detect | mitigate | update_documentation
    kind: Mapped[str] = mapped_column(String(30))
    # high | medium | low
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    # open | in_progress | done | cancelled
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None]
    tracker_url: Mapped[str | None] = mapped_column(String(2000))
    # For update_documentation: the runbook, and its updated_at when linked;
    # a later change of the runbook closes the item.
    runbook_id: Mapped[int | None] = mapped_column(
        ForeignKey("runbooks.id", ondelete="SET NULL"), index=True
    )
    runbook_seen_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    created_by_label: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    owner: Mapped[User | None] = relationship()
    runbook: Mapped[Runbook | None] = relationship()
    postmortem: Mapped[Postmortem] = relationship()


class FeedbackAnswer(Base):
    """One participant's answer to the survey about an incident.

    `respondent` is an HMAC of the user's id under the secret key, so one
    answer per person holds for anonymous answers too; `user_id` is kept only
    when the participant chose to sign their answer.
    """

    __tablename__ = "feedback_answers"
    __table_args__ = (UniqueConstraint("incident_id", "respondent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    respondent: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    went_well: Mapped[str] = mapped_column(Text, default="")
    hindered: Mapped[str] = mapped_column(Text, default="")
    # 1 (bad) .. 5 (good)
    rating_overall: Mapped[int]
    rating_tools: Mapped[int]
    rating_communication: Mapped[int]
    answered_at: Mapped[datetime]

    user: Mapped[User | None] = relationship()
