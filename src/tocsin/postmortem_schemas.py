"""Read models of postmortems, action items and feedback: what the services
return and the API serialises."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tocsin.schemas import UserRef


class TemplateRead(BaseModel):
    id: int
    name: str
    sections: dict[str, str]
    is_default: bool


class ReviewerRead(BaseModel):
    user: UserRef
    approved_at: datetime | None


class CommentRead(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class ActionItemRead(BaseModel):
    id: int
    postmortem_id: int
    incident_numbers: list[int]
    title: str
    kind: str
    priority: str
    status: str
    owner: UserRef | None
    due_at: datetime | None
    overdue: bool
    tracker_url: str | None
    runbook: str | None
    created_at: datetime
    closed_at: datetime | None


class FeedbackRead(BaseModel):
    """One answer; `respondent` is None when it was given anonymously."""

    respondent: str | None
    went_well: str
    hindered: str
    rating_overall: int
    rating_tools: int
    rating_communication: int
    answered_at: datetime


class FeedbackSummary(BaseModel):
    answers: int
    participants: int
    mean_overall: float | None
    mean_tools: float | None
    mean_communication: float | None


class PostmortemBrief(BaseModel):
    id: int
    title: str
    status: str
    severity: str
    incident_numbers: list[int]
    due_at: datetime
    overdue: bool
    published_at: datetime | None


class PostmortemRead(PostmortemBrief):
    template: str
    sections: dict[str, str]
    five_whys: list[str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reviewers: list[ReviewerRead]
    comments: list[CommentRead]
    action_items: list[ActionItemRead]
    feedback: list[FeedbackRead]
    feedback_summary: FeedbackSummary
