"""The response catalogues: incident roles, runbooks, update templates and
update subscriptions. Reading needs a token; changing them needs the manager
role (an admin where Tocsin has no manager role), checked in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.response_schemas import (
    Audience,
    RoleCreate,
    RoleUpdate,
    RunbookCreate,
    SubscriptionCreate,
    TemplateCreate,
)
from tocsin.api.schemas import MAX_ID
from tocsin.response_schemas import (
    RoleRead,
    RunbookRead,
    SubscriptionRead,
    TemplateRead,
)
from tocsin.services import roles, runbooks, update_subscriptions, updates
from tocsin.services.runbooks import RunbookInput, StepInput
from tocsin.services.updates import TemplateInput

router = APIRouter(tags=["response catalogue"])

ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=200)]
_READ = problem_responses(404, 422)
_WRITE = problem_responses(400, 403, 404, 409, 413, 422)


@router.get(
    "/roles",
    operation_id="listRoles",
    summary="The role catalogue",
    response_model=list[RoleRead],
    responses=_READ,
)
def list_roles(
    ctx: CtxDep,
    actor: ActorDep,
    retired: Annotated[bool, Query(description="Include retired roles.")] = False,
) -> list[RoleRead]:
    return roles.list_roles(ctx, actor, retired=retired)


@router.post(
    "/roles",
    operation_id="createRole",
    summary="Add a role to the catalogue",
    status_code=201,
    response_model=RoleRead,
    responses=_WRITE,
)
def create_role(ctx: CtxDep, actor: ActorDep, body: RoleCreate) -> RoleRead:
    return roles.create_role(
        ctx, actor, key=body.key, name=body.name, description=body.description
    )


@router.patch(
    "/roles/{key}",
    operation_id="updateRole",
    summary="Rename, describe, retire or bring back a role",
    response_model=RoleRead,
    responses=_WRITE,
)
def update_role(
    ctx: CtxDep,
    actor: ActorDep,
    key: Annotated[str, Path(max_length=40)],
    body: RoleUpdate,
) -> RoleRead:
    return roles.update_role(
        ctx,
        actor,
        key,
        name=body.name,
        description=body.description,
        retired=body.retired,
    )


@router.get(
    "/runbooks",
    operation_id="listRunbooks",
    summary="Runbooks, by name",
    response_model=list[RunbookRead],
    responses=_READ,
)
def list_runbooks(
    ctx: CtxDep,
    actor: ActorDep,
    service: Text = None,
    incident_type: Text = None,
) -> list[RunbookRead]:
    return runbooks.list_runbooks(
        ctx, actor, service=service, incident_type=incident_type
    )


@router.post(
    "/runbooks",
    operation_id="createRunbook",
    summary="Add a runbook",
    status_code=201,
    response_model=RunbookRead,
    responses=_WRITE,
)
def create_runbook(ctx: CtxDep, actor: ActorDep, body: RunbookCreate) -> RunbookRead:
    return runbooks.create(ctx, actor, _runbook_input(body))


@router.get(
    "/runbooks/{runbook_id}",
    operation_id="getRunbook",
    summary="A runbook with its markdown rendered to safe HTML",
    response_model=RunbookRead,
    responses=_READ,
)
def get_runbook(ctx: CtxDep, actor: ActorDep, runbook_id: ItemId) -> RunbookRead:
    return runbooks.get(ctx, actor, runbook_id)


@router.put(
    "/runbooks/{runbook_id}",
    operation_id="replaceRunbook",
    summary="Replace a runbook (started checklists keep their steps)",
    response_model=RunbookRead,
    responses=_WRITE,
)
def replace_runbook(
    ctx: CtxDep, actor: ActorDep, runbook_id: ItemId, body: RunbookCreate
) -> RunbookRead:
    return runbooks.replace(ctx, actor, runbook_id, _runbook_input(body))


@router.get(
    "/templates",
    operation_id="listTemplates",
    summary="Stakeholder update templates",
    response_model=list[TemplateRead],
    responses=_READ,
)
def list_templates(
    ctx: CtxDep,
    actor: ActorDep,
    audience: Annotated[Audience | None, Query()] = None,
    incident_type: Text = None,
) -> list[TemplateRead]:
    return updates.list_templates(
        ctx, actor, audience=audience, incident_type=incident_type
    )


@router.post(
    "/templates",
    operation_id="createTemplate",
    summary="Add a template (refused if it does not parse in the sandbox)",
    status_code=201,
    response_model=TemplateRead,
    responses=_WRITE,
)
def create_template(ctx: CtxDep, actor: ActorDep, body: TemplateCreate) -> TemplateRead:
    return updates.create_template(ctx, actor, _template_input(body))


@router.get(
    "/templates/{template_id}",
    operation_id="getTemplate",
    summary="One template",
    response_model=TemplateRead,
    responses=_READ,
)
def get_template(ctx: CtxDep, actor: ActorDep, template_id: ItemId) -> TemplateRead:
    return updates.get_template(ctx, actor, str(template_id))


@router.put(
    "/templates/{template_id}",
    operation_id="replaceTemplate",
    summary="Replace a template",
    response_model=TemplateRead,
    responses=_WRITE,
)
def replace_template(
    ctx: CtxDep, actor: ActorDep, template_id: ItemId, body: TemplateCreate
) -> TemplateRead:
    return updates.replace_template(ctx, actor, template_id, _template_input(body))


@router.get(
    "/update-subscribers",
    operation_id="listUpdateSubscribers",
    summary="A team's update subscribers",
    response_model=list[SubscriptionRead],
    responses=_WRITE,
)
def list_subscribers(
    ctx: CtxDep, actor: ActorDep, team: Annotated[str, Query(max_length=200)]
) -> list[SubscriptionRead]:
    return update_subscriptions.subscriptions(ctx, actor, team=team)


@router.post(
    "/update-subscribers",
    operation_id="subscribeToUpdates",
    summary="Send an incident's (or a team's) updates to an internal address",
    status_code=201,
    response_model=SubscriptionRead,
    responses=_WRITE,
)
def subscribe(
    ctx: CtxDep, actor: ActorDep, body: SubscriptionCreate
) -> SubscriptionRead:
    return update_subscriptions.subscribe(
        ctx,
        actor,
        body.address,
        number=body.incident_number,
        team=body.team,
        kind=body.kind,
    )


@router.delete(
    "/update-subscribers/{subscription_id}",
    operation_id="unsubscribeFromUpdates",
    summary="Stop sending updates to an address",
    status_code=204,
    response_class=Response,
    responses=_WRITE,
)
def unsubscribe(ctx: CtxDep, actor: ActorDep, subscription_id: ItemId) -> Response:
    update_subscriptions.unsubscribe(ctx, actor, subscription_id)
    return Response(status_code=204)


def _runbook_input(body: RunbookCreate) -> RunbookInput:
    return RunbookInput(
        name=body.name,
        body=body.body,
        team=body.team,
        steps=tuple(StepInput(step.text, step.kind) for step in body.steps),
        services=tuple(body.services),
        incident_types=tuple(body.incident_types),
    )


def _template_input(body: TemplateCreate) -> TemplateInput:
    return TemplateInput(
        name=body.name,
        audience=body.audience,
        subject=body.subject,
        body=body.body,
        incident_type=body.incident_type,
    )
