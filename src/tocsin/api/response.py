"""Running an incident: its roles, responders, tasks, checklists, notes and
stakeholder updates, under /incidents/{number}/...

Routes parse, call one service function and return what it returns; who may
do what, and the timeline and audit trail, live in the services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.response_schemas import (
    ChecklistCreate,
    ChecklistItemUpdate,
    NoteTagName,
    NoteUpdate,
    ResponderAdd,
    RoleAssign,
    TaskCreate,
    TaskUpdate,
    UpdateCreate,
)
from tocsin.api.schemas import MAX_ID
from tocsin.response_schemas import (
    ChecklistRead,
    NoteRead,
    NoteVersionRead,
    RenderedUpdate,
    ResponseTeamRead,
    RoleHolderRead,
    RunbookRead,
    SubscriptionRead,
    TaskRead,
    UpdateRead,
)
from tocsin.services import (
    notes,
    responders,
    roles,
    runbooks,
    tasks,
    update_subscriptions,
    updates,
)
from tocsin.services.tasks import KEEP
from tocsin.services.updates import UpdateInput

router = APIRouter(prefix="/incidents/{number}", tags=["response"])

Number = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The incident's number, as in #42.")
]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
RoleKey = Annotated[str, Path(max_length=40, description="A role key: commander.")]

_READ = problem_responses(404, 422)
_WRITE = problem_responses(400, 403, 404, 409, 413, 422)


# Roles -------------------------------------------------------------------------


@router.get(
    "/roles",
    operation_id="listIncidentRoles",
    summary="Who holds which role",
    response_model=list[RoleHolderRead],
    responses=_READ,
)
def list_roles(
    ctx: CtxDep,
    actor: ActorDep,
    number: Number,
    history: Annotated[
        bool, Query(description="Every holding, handovers included.")
    ] = False,
) -> list[RoleHolderRead]:
    return roles.incident_roles(ctx, actor, number, history=history)


@router.put(
    "/roles/{role}",
    operation_id="assignIncidentRole",
    summary="Give a role to a user (a handover if someone holds it)",
    response_model=list[RoleHolderRead],
    responses=_WRITE,
)
def assign_role(
    ctx: CtxDep, actor: ActorDep, number: Number, role: RoleKey, body: RoleAssign
) -> list[RoleHolderRead]:
    """The user is notified. Returns the current holders."""
    return roles.assign(ctx, actor, number, role, body.user_id)


@router.delete(
    "/roles/{role}",
    operation_id="releaseIncidentRole",
    summary="Leave a role without a holder",
    response_model=list[RoleHolderRead],
    responses=_WRITE,
)
def release_role(
    ctx: CtxDep, actor: ActorDep, number: Number, role: RoleKey
) -> list[RoleHolderRead]:
    return roles.release(ctx, actor, number, role)


# Responders --------------------------------------------------------------------


@router.get(
    "/responders",
    operation_id="listResponders",
    summary="Responders asked for, and the participants",
    response_model=ResponseTeamRead,
    responses=_READ,
)
def list_responders(ctx: CtxDep, actor: ActorDep, number: Number) -> ResponseTeamRead:
    return responders.response_team(ctx, actor, number)


@router.post(
    "/responders",
    operation_id="addResponders",
    summary="Add a user, a team or an escalation policy; they are paged",
    status_code=201,
    response_model=ResponseTeamRead,
    responses=_WRITE,
)
def add_responders(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ResponderAdd
) -> ResponseTeamRead:
    return responders.add(
        ctx,
        actor,
        number,
        user_id=body.user_id,
        team_id=body.team_id,
        policy_id=body.policy_id,
    )


# Tasks -------------------------------------------------------------------------


@router.get(
    "/tasks",
    operation_id="listTasks",
    summary="The incident's tasks",
    response_model=list[TaskRead],
    responses=_READ,
)
def list_tasks(ctx: CtxDep, actor: ActorDep, number: Number) -> list[TaskRead]:
    return tasks.list_tasks(ctx, actor, number)


@router.post(
    "/tasks",
    operation_id="createTask",
    summary="Add a task; its owner is told and reminded when it is overdue",
    status_code=201,
    response_model=TaskRead,
    responses=_WRITE,
)
def create_task(
    ctx: CtxDep, actor: ActorDep, number: Number, body: TaskCreate
) -> TaskRead:
    return tasks.create(
        ctx,
        actor,
        number,
        title=body.title,
        owner_id=body.owner_id,
        due_at=body.due_at,
    )


@router.patch(
    "/tasks/{task_id}",
    operation_id="updateTask",
    summary="Change a task's title, owner, due time or status",
    response_model=TaskRead,
    responses=_WRITE,
)
def update_task(
    ctx: CtxDep, actor: ActorDep, number: Number, task_id: ItemId, body: TaskUpdate
) -> TaskRead:
    sent = body.model_fields_set
    return tasks.update(
        ctx,
        actor,
        number,
        task_id,
        title=body.title,
        owner_id=body.owner_id if "owner_id" in sent else KEEP,
        due_at=body.due_at if "due_at" in sent else KEEP,
        status=body.status,
    )


# Runbooks and checklists -------------------------------------------------------


@router.get(
    "/runbooks",
    operation_id="listIncidentRunbooks",
    summary="Runbooks for the incident's service or type",
    response_model=list[RunbookRead],
    responses=_READ,
)
def incident_runbooks(
    ctx: CtxDep, actor: ActorDep, number: Number
) -> list[RunbookRead]:
    return runbooks.for_incident(ctx, actor, number)


@router.get(
    "/checklists",
    operation_id="listChecklists",
    summary="The incident's checklists",
    response_model=list[ChecklistRead],
    responses=_READ,
)
def list_checklists(
    ctx: CtxDep, actor: ActorDep, number: Number
) -> list[ChecklistRead]:
    return runbooks.checklists(ctx, actor, number)


@router.post(
    "/checklists",
    operation_id="startChecklist",
    summary="Copy a runbook's steps into a checklist on the incident",
    status_code=201,
    response_model=ChecklistRead,
    responses=_WRITE,
)
def start_checklist(
    ctx: CtxDep, actor: ActorDep, number: Number, body: ChecklistCreate
) -> ChecklistRead:
    return runbooks.start_checklist(ctx, actor, number, body.runbook_id)


@router.patch(
    "/checklists/{checklist_id}/items/{item_id}",
    operation_id="checkChecklistItem",
    summary="Check or uncheck an item (on the timeline)",
    response_model=ChecklistRead,
    responses=_WRITE,
)
def check_item(
    ctx: CtxDep,
    actor: ActorDep,
    number: Number,
    checklist_id: ItemId,
    item_id: ItemId,
    body: ChecklistItemUpdate,
) -> ChecklistRead:
    return runbooks.check_item(
        ctx, actor, number, checklist_id, item_id, done=body.done
    )


# Notes (adding one is POST /incidents/{number}/notes) -----------------------


@router.get(
    "/notes",
    operation_id="listNotes",
    summary="The incident's notes, oldest first",
    response_model=list[NoteRead],
    responses=_READ,
)
def list_notes(
    ctx: CtxDep,
    actor: ActorDep,
    number: Number,
    pinned: Annotated[bool, Query(description="Only pinned notes.")] = False,
    tag: Annotated[NoteTagName | None, Query(description="Only this tag.")] = None,
) -> list[NoteRead]:
    return notes.list_notes(ctx, actor, number, pinned=pinned, tag=tag)


@router.patch(
    "/notes/{note_id}",
    operation_id="editNote",
    summary="Edit a note; the earlier text is kept as a version",
    response_model=NoteRead,
    responses=_WRITE,
)
def edit_note(
    ctx: CtxDep, actor: ActorDep, number: Number, note_id: ItemId, body: NoteUpdate
) -> NoteRead:
    return notes.edit(
        ctx,
        actor,
        number,
        note_id,
        text=body.text,
        tag=body.tag,
        clear_tag=body.clear_tag,
    )


@router.get(
    "/notes/{note_id}/versions",
    operation_id="listNoteVersions",
    summary="What a note said before each edit",
    response_model=list[NoteVersionRead],
    responses=_READ,
)
def note_versions(
    ctx: CtxDep, actor: ActorDep, number: Number, note_id: ItemId
) -> list[NoteVersionRead]:
    return notes.versions(ctx, actor, number, note_id)


@router.put(
    "/notes/{note_id}/pin",
    operation_id="pinNote",
    summary="Pin a note",
    response_model=NoteRead,
    responses=_WRITE,
)
def pin_note(ctx: CtxDep, actor: ActorDep, number: Number, note_id: ItemId) -> NoteRead:
    return notes.pin(ctx, actor, number, note_id, pinned=True)


@router.delete(
    "/notes/{note_id}/pin",
    operation_id="unpinNote",
    summary="Unpin a note",
    response_model=NoteRead,
    responses=_WRITE,
)
def unpin_note(
    ctx: CtxDep, actor: ActorDep, number: Number, note_id: ItemId
) -> NoteRead:
    return notes.pin(ctx, actor, number, note_id, pinned=False)


# Stakeholder updates -----------------------------------------------------------


@router.get(
    "/updates",
    operation_id="listUpdates",
    summary="The stakeholder updates sent, oldest first",
    response_model=list[UpdateRead],
    responses=_READ,
)
def list_updates(ctx: CtxDep, actor: ActorDep, number: Number) -> list[UpdateRead]:
    return updates.list_updates(ctx, actor, number)


@router.post(
    "/updates",
    operation_id="postUpdate",
    summary="Send a stakeholder update to subscribers (and the status page)",
    status_code=201,
    response_model=UpdateRead,
    responses=_WRITE,
)
def post_update(
    ctx: CtxDep, actor: ActorDep, number: Number, body: UpdateCreate
) -> UpdateRead:
    """An undefined template variable is a 400 problem naming it; nothing is
    stored or sent then."""
    return updates.post(ctx, actor, number, _update_input(body))


@router.post(
    "/updates/preview",
    operation_id="previewUpdate",
    summary="Render an update without sending it",
    response_model=RenderedUpdate,
    responses=_WRITE,
)
def preview_update(
    ctx: CtxDep, actor: ActorDep, number: Number, body: UpdateCreate
) -> RenderedUpdate:
    return updates.preview(ctx, actor, number, _update_input(body))


@router.get(
    "/subscribers",
    operation_id="listIncidentSubscribers",
    summary="Who receives this incident's updates (its team's subscribers too)",
    response_model=list[SubscriptionRead],
    responses=_READ,
)
def list_subscribers(
    ctx: CtxDep, actor: ActorDep, number: Number
) -> list[SubscriptionRead]:
    return update_subscriptions.subscriptions(ctx, actor, number=number)


def _update_input(body: UpdateCreate) -> UpdateInput:
    return UpdateInput(
        audience=body.audience,
        template=body.template,
        subject=body.subject,
        body=body.body,
        variables=dict(body.variables),
        eta=body.eta,
        status_page=body.status_page,
    )
