"""Postmortems, their templates, and action items across incidents.

Routes parse, call one service function and return what it returns; who may
do what, the timeline and the audit trail live in the services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID
from tocsin.errors import NotFound
from tocsin.postmortem_schemas import (
    ActionItemRead,
    FeedbackRead,
    FeedbackSummary,
    PostmortemBrief,
    PostmortemRead,
    TemplateRead,
)
from tocsin.services import action_items, feedback, postmortem_review, postmortems

router = APIRouter(tags=["postmortems"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Section = Literal[
    "summary",
    "impact",
    "timeline",
    "root_causes",
    "contributing_factors",
    "went_well",
    "went_poorly",
    "lessons",
]
Kind = Literal["prevent", "detect", "mitigate", "update_documentation"]
Priority = Literal["high", "medium", "low"]
Status = Literal["open", "in_progress", "done", "cancelled"]

_READ = problem_responses(400, 404, 422)
_WRITE = problem_responses(400, 403, 404, 409, 413, 422)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostmortemCreate(_Body):
    incidents: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=20, description="Incident numbers it covers."
    )
    title: str | None = Field(default=None, max_length=500)
    template: str | None = Field(
        default=None, max_length=100, description="Default: the default template."
    )


class PostmortemUpdate(_Body):
    """Only the sections sent change."""

    title: str | None = Field(default=None, max_length=500)
    sections: dict[Section, Annotated[str, Field(max_length=100_000)]] = Field(
        default_factory=dict
    )
    five_whys: list[Annotated[str, Field(max_length=1000)]] | None = Field(
        default=None, max_length=5
    )


class TemplateSave(_Body):
    sections: dict[Section, Annotated[str, Field(max_length=100_000)]]
    is_default: bool = False


class Preview(_Body):
    markdown: str = Field(max_length=100_000)


class PreviewRead(BaseModel):
    html: str


class ActionItemCreate(_Body):
    title: str = Field(max_length=500)
    kind: Kind
    priority: Priority = "medium"
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    due_at: AwareDatetime | None = None
    tracker_url: str | None = Field(
        default=None, max_length=2000, description="An http or https link."
    )
    runbook_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="For update_documentation."
    )


class ActionItemUpdate(_Body):
    """Only the fields sent change; null clears owner, due date or link."""

    title: str | None = Field(default=None, max_length=500)
    priority: Priority | None = None
    status: Status | None = None
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    due_at: AwareDatetime | None = None
    tracker_url: str | None = Field(default=None, max_length=2000)


# Postmortems ---------------------------------------------------------------


@router.post(
    "/postmortems",
    operation_id="createPostmortem",
    summary="Start a postmortem, prefilled from its incidents",
    response_model=PostmortemRead,
    status_code=201,
    responses=_WRITE,
)
def create_postmortem(
    ctx: CtxDep, actor: ActorDep, body: PostmortemCreate
) -> PostmortemRead:
    return postmortems.create(
        ctx, actor, body.incidents, title=body.title, template=body.template
    )


@router.get(
    "/postmortems",
    operation_id="listPostmortems",
    summary="Postmortems, newest first",
    response_model=list[PostmortemBrief],
    responses=_READ,
)
def list_postmortems(
    ctx: CtxDep,
    actor: ActorDep,
    status: Annotated[
        Literal["draft", "in_review", "published"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PostmortemBrief]:
    return postmortems.list_postmortems(ctx, actor, status=status, limit=limit)


@router.get(
    "/postmortems/{postmortem_id}",
    operation_id="getPostmortem",
    summary="A postmortem with its review and action items",
    response_model=PostmortemRead,
    responses=_READ,
)
def get_postmortem(ctx: CtxDep, actor: ActorDep, postmortem_id: Id) -> PostmortemRead:
    return postmortems.get(ctx, actor, postmortem_id)


@router.patch(
    "/postmortems/{postmortem_id}",
    operation_id="updatePostmortem",
    summary="Edit the title, sections or five whys",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def update_postmortem(
    ctx: CtxDep, actor: ActorDep, postmortem_id: Id, body: PostmortemUpdate
) -> PostmortemRead:
    return postmortems.update(
        ctx,
        actor,
        postmortem_id,
        title=body.title,
        sections={str(k): v for k, v in body.sections.items()},
        five_whys=body.five_whys,
    )


@router.get(
    "/postmortems/{postmortem_id}/export",
    operation_id="exportPostmortem",
    summary="The postmortem as Markdown or self-contained HTML",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}, "application/pdf": {}}},
        **_READ,
    },
)
def export_postmortem(
    ctx: CtxDep,
    actor: ActorDep,
    postmortem_id: Id,
    format: Annotated[Literal["markdown", "html", "pdf"], Query()] = "markdown",
) -> Response:
    """PDF needs the optional `pdf` extra (WeasyPrint); without it, 400."""
    content: str | bytes
    if format == "pdf":
        content = postmortems.export_pdf(ctx, actor, postmortem_id)
    else:
        content = postmortems.export(ctx, actor, postmortem_id, format)
    media = {"html": "text/html", "pdf": "application/pdf"}.get(format, "text/markdown")
    suffix = {"html": "html", "pdf": "pdf"}.get(format, "md")
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": (
                f'attachment; filename="postmortem-{postmortem_id}.{suffix}"'
            ),
            # The HTML is a download, never a page of this origin.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/postmortems/preview",
    operation_id="previewMarkdown",
    summary="Sanitised HTML for a section being edited",
    response_model=PreviewRead,
    responses=_READ,
)
def preview(actor: ActorDep, body: Preview) -> PreviewRead:
    return PreviewRead(html=postmortems.preview(body.markdown))


@router.get(
    "/incidents/{number}/postmortem",
    operation_id="getIncidentPostmortem",
    summary="The postmortem covering an incident",
    response_model=PostmortemBrief,
    responses=_READ,
)
def incident_postmortem(ctx: CtxDep, actor: ActorDep, number: Id) -> PostmortemBrief:
    found = postmortems.of_incident(ctx, actor, number)
    if found is None:
        raise NotFound(f"incident #{number} has no postmortem")
    return found


# Templates -----------------------------------------------------------------


@router.get(
    "/postmortem-templates",
    operation_id="listPostmortemTemplates",
    summary="Postmortem templates (the built-in blameless one included)",
    response_model=list[TemplateRead],
    responses=_READ,
)
def list_templates(ctx: CtxDep, actor: ActorDep) -> list[TemplateRead]:
    return postmortems.list_templates(ctx, actor)


@router.put(
    "/postmortem-templates/{name}",
    operation_id="savePostmortemTemplate",
    summary="Create or replace a template (admins)",
    response_model=TemplateRead,
    responses=_WRITE,
)
def save_template(
    ctx: CtxDep,
    actor: ActorDep,
    name: Annotated[str, Path(max_length=100)],
    body: TemplateSave,
) -> TemplateRead:
    return postmortems.save_template(
        ctx,
        actor,
        name,
        {str(k): v for k, v in body.sections.items()},
        is_default=body.is_default,
    )


# Action items --------------------------------------------------------------


@router.post(
    "/postmortems/{postmortem_id}/action-items",
    operation_id="createActionItem",
    summary="Add an action item",
    response_model=ActionItemRead,
    status_code=201,
    responses=_WRITE,
)
def create_action_item(
    ctx: CtxDep, actor: ActorDep, postmortem_id: Id, body: ActionItemCreate
) -> ActionItemRead:
    return action_items.create(
        ctx,
        actor,
        postmortem_id,
        title=body.title,
        kind=body.kind,
        priority=body.priority,
        owner_id=body.owner_id,
        due_at=body.due_at,
        tracker_url=body.tracker_url,
        runbook_id=body.runbook_id,
    )


@router.get(
    "/action-items",
    operation_id="listActionItems",
    summary="Action items across all incidents, soonest due first",
    response_model=list[ActionItemRead],
    responses=_READ,
)
def list_action_items(
    ctx: CtxDep,
    actor: ActorDep,
    status: Annotated[
        Literal["open", "in_progress", "done", "cancelled", "pending"] | None,
        Query(description="`pending`: open or in progress."),
    ] = None,
    owner_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ActionItemRead]:
    return action_items.list_all(
        ctx, actor, status=status, owner_id=owner_id, overdue=overdue, limit=limit
    )


@router.get(
    "/action-items/{item_id}",
    operation_id="getActionItem",
    summary="One action item",
    response_model=ActionItemRead,
    responses=_READ,
)
def get_action_item(ctx: CtxDep, actor: ActorDep, item_id: Id) -> ActionItemRead:
    return action_items.get(ctx, actor, item_id)


@router.patch(
    "/action-items/{item_id}",
    operation_id="updateActionItem",
    summary="Change an action item",
    response_model=ActionItemRead,
    responses=_WRITE,
)
def update_action_item(
    ctx: CtxDep, actor: ActorDep, item_id: Id, body: ActionItemUpdate
) -> ActionItemRead:
    sent = body.model_fields_set
    keep = action_items.KEEP
    return action_items.update(
        ctx,
        actor,
        item_id,
        title=body.title,
        priority=body.priority,
        status=body.status,
        owner_id=body.owner_id if "owner_id" in sent else keep,
        due_at=body.due_at if "due_at" in sent else keep,
        tracker_url=body.tracker_url if "tracker_url" in sent else keep,
    )


# Review --------------------------------------------------------------------


class ReviewSubmit(_Body):
    reviewer_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=20
    )


class CommentCreate(_Body):
    text: str = Field(max_length=10_000)


@router.post(
    "/postmortems/{postmortem_id}/submit",
    operation_id="submitPostmortem",
    summary="Send a draft for review; the reviewers are told",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def submit(
    ctx: CtxDep, actor: ActorDep, postmortem_id: Id, body: ReviewSubmit
) -> PostmortemRead:
    return postmortem_review.submit(ctx, actor, postmortem_id, body.reviewer_ids)


@router.post(
    "/postmortems/{postmortem_id}/comments",
    operation_id="commentOnPostmortem",
    summary="Add a review comment",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def comment(
    ctx: CtxDep, actor: ActorDep, postmortem_id: Id, body: CommentCreate
) -> PostmortemRead:
    return postmortem_review.comment(ctx, actor, postmortem_id, body.text)


@router.post(
    "/postmortems/{postmortem_id}/approve",
    operation_id="approvePostmortem",
    summary="Approve as one of its reviewers",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def approve(ctx: CtxDep, actor: ActorDep, postmortem_id: Id) -> PostmortemRead:
    return postmortem_review.approve(ctx, actor, postmortem_id)


@router.post(
    "/postmortems/{postmortem_id}/publish",
    operation_id="publishPostmortem",
    summary="Publish once every reviewer approved (or as a manager)",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def publish(ctx: CtxDep, actor: ActorDep, postmortem_id: Id) -> PostmortemRead:
    return postmortem_review.publish(ctx, actor, postmortem_id)


@router.post(
    "/postmortems/{postmortem_id}/reopen",
    operation_id="reopenPostmortem",
    summary="Back to draft for a correction; approvals are cleared",
    response_model=PostmortemRead,
    responses=_WRITE,
)
def reopen(ctx: CtxDep, actor: ActorDep, postmortem_id: Id) -> PostmortemRead:
    return postmortem_review.reopen(ctx, actor, postmortem_id)


# Feedback ------------------------------------------------------------------


class FeedbackList(BaseModel):
    answers: list[FeedbackRead]
    summary: FeedbackSummary


@router.get(
    "/incidents/{number}/feedback",
    operation_id="listIncidentFeedback",
    summary="Participants' survey answers about an incident, and their aggregate",
    response_model=FeedbackList,
    responses=_READ,
)
def incident_feedback(ctx: CtxDep, actor: ActorDep, number: Id) -> FeedbackList:
    answers, summary = feedback.answers(ctx, actor, number)
    return FeedbackList(answers=answers, summary=summary)
