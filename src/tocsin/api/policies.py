"""Escalation routes: policies, the preview of a service's escalation, the
misconfiguration check, and the incident actions that steer escalation
(snooze, hand to another policy).

Each route parses its input, calls one service function and returns what that
function returns; authorisation and the audit trail live in the services.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MAX_ID, IncidentRead
from tocsin.errors import NotFound
from tocsin.services import catalog, incidents, misconfig, preview
from tocsin.services.catalog import (
    MAX_DELAY_MINUTES,
    MAX_REPEAT,
    MAX_STEPS,
    MAX_TARGETS,
    PolicyRead,
    StepInput,
    policy_edits,
)
from tocsin.services.catalog.common import MAX_ACK_TIMEOUT_MINUTES
from tocsin.services.misconfig import MisconfigurationReport
from tocsin.services.preview import EscalationPreview

router = APIRouter(tags=["escalation"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Number = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The incident's number, as in #42.")
]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Create(BaseModel):
    # A misspelt field is an error, not something silently ignored.
    model_config = ConfigDict(extra="forbid")


class StepCreate(_Create):
    delay_minutes: int = Field(
        ge=0,
        le=MAX_DELAY_MINUTES,
        description="Minutes to wait for an acknowledgement before the next step.",
    )
    users: list[Annotated[str, Field(max_length=320)]] = Field(
        default=[], max_length=MAX_TARGETS, description="Emails of users to page."
    )
    schedules: list[Name] = Field(
        default=[],
        max_length=MAX_TARGETS,
        description="Schedules by name: whoever is on call when the step fires.",
    )
    teams: list[Name] = Field(
        default=[],
        max_length=MAX_TARGETS,
        description="Teams by name: their active members who may respond.",
    )
    round_robin: bool = Field(
        default=False,
        description="Page one target per firing, the next in turn each time.",
    )


class PolicyCreate(_Create):
    name: Name
    team: Name
    steps: list[StepCreate] = Field(min_length=1, max_length=MAX_STEPS)
    repeat: int = Field(default=0, ge=0, le=MAX_REPEAT)
    ack_timeout_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ACK_TIMEOUT_MINUTES,
        description="Trigger an acknowledged incident again after this long.",
    )


class StepMove(_Create):
    offset: Literal[-1, 1] = Field(
        description="-1 moves the step one place earlier, 1 one place later."
    )


class RepeatUpdate(_Create):
    repeat: int = Field(ge=0, le=MAX_REPEAT)
    ack_timeout_minutes: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ACK_TIMEOUT_MINUTES,
        description="Trigger an acknowledged incident again after this long.",
    )


class SnoozeCreate(_Create):
    minutes: int = Field(
        ge=1,
        le=incidents.MAX_SNOOZE_MINUTES,
        description="How long the incident stays quiet before it pages again.",
    )


class PolicyReassign(_Create):
    policy_id: int = Field(ge=1, le=MAX_ID)


@router.get(
    "/policies",
    operation_id="listPolicies",
    summary="List escalation policies",
    response_model=list[PolicyRead],
    response_description="Every policy, by name, with its steps.",
    responses=problem_responses(),
)
def list_policies(ctx: CtxDep, actor: ActorDep) -> list[PolicyRead]:
    return catalog.list_policies(ctx)


@router.get(
    "/policies/{policy_id}",
    operation_id="getPolicy",
    summary="Read an escalation policy",
    response_model=PolicyRead,
    response_description="The policy with its steps and services.",
    responses=problem_responses(404, 422),
)
def get_policy(ctx: CtxDep, actor: ActorDep, policy_id: Id) -> PolicyRead:
    for policy in catalog.list_policies(ctx):
        if policy.id == policy_id:
            return policy
    raise NotFound(f"no escalation policy with id {policy_id}")


@router.post(
    "/policies",
    operation_id="createPolicy",
    summary="Create an escalation policy (admins)",
    status_code=201,
    response_model=PolicyRead,
    response_description="The new policy.",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
)
def create_policy(ctx: CtxDep, actor: ActorDep, body: PolicyCreate) -> PolicyRead:
    """Step 1 pages as soon as an incident triggers; each step waits its delay
    for an acknowledgement before the next; `repeat` runs them all again."""
    steps = [_step_input(step) for step in body.steps]
    return catalog.create_policy(
        ctx,
        actor,
        body.name,
        team=body.team,
        steps=steps,
        repeat=body.repeat,
        ack_timeout_minutes=body.ack_timeout_minutes,
    )


StepNumber = Annotated[
    int, Path(ge=1, le=MAX_STEPS, description="The step's place, 1 pages first.")
]


def _step_input(step: StepCreate) -> StepInput:
    return StepInput(
        delay_minutes=step.delay_minutes,
        emails=tuple(step.users),
        schedules=tuple(step.schedules),
        teams=tuple(step.teams),
        round_robin=step.round_robin,
    )


def _step_id(ctx: CtxDep, actor: ActorDep, policy_id: int, number: int) -> int:
    """The id of the step now at `number`; NotFound past the last step."""
    policy = policy_edits.get_visible(ctx, actor, policy_id)
    if number > len(policy.steps):
        raise NotFound(f"policy {policy.name!r} has no step {number}")
    return policy.steps[number - 1].id


@router.post(
    "/policies/{policy_id}/steps",
    operation_id="addPolicyStep",
    summary="Append a step to an escalation policy (admins, the team's managers)",
    status_code=201,
    response_model=PolicyRead,
    response_description="The policy with the new step last.",
    responses=problem_responses(400, 403, 404, 413, 422),
)
def add_step(
    ctx: CtxDep, actor: ActorDep, policy_id: Id, body: StepCreate
) -> PolicyRead:
    policy_edits.add_step(ctx, actor, policy_id, _step_input(body))
    return get_policy(ctx, actor, policy_id)


@router.put(
    "/policies/{policy_id}/steps/{number}",
    operation_id="replacePolicyStep",
    summary="Give a step new targets, delay and round-robin",
    response_model=PolicyRead,
    response_description="The policy with the step changed in place.",
    responses=problem_responses(400, 403, 404, 413, 422),
)
def replace_step(
    ctx: CtxDep, actor: ActorDep, policy_id: Id, number: StepNumber, body: StepCreate
) -> PolicyRead:
    """An incident escalating through the policy pages the changed step when
    its turn comes."""
    step_id = _step_id(ctx, actor, policy_id, number)
    policy_edits.edit_step(ctx, actor, policy_id, step_id, _step_input(body))
    return get_policy(ctx, actor, policy_id)


@router.delete(
    "/policies/{policy_id}/steps/{number}",
    operation_id="removePolicyStep",
    summary="Remove a step; the ones after it move up",
    response_model=PolicyRead,
    response_description="The policy without the step.",
    responses=problem_responses(400, 403, 404, 422),
)
def remove_step(
    ctx: CtxDep, actor: ActorDep, policy_id: Id, number: StepNumber
) -> PolicyRead:
    """The last step stays (400): a policy without steps pages nobody. An
    incident escalating through the policy skips no step it has not paged."""
    step_id = _step_id(ctx, actor, policy_id, number)
    policy_edits.remove_step(ctx, actor, policy_id, step_id)
    return get_policy(ctx, actor, policy_id)


@router.post(
    "/policies/{policy_id}/steps/{number}/move",
    operation_id="movePolicyStep",
    summary="Move a step one place earlier or later",
    response_model=PolicyRead,
    response_description="The policy in its new order.",
    responses=problem_responses(400, 403, 404, 422),
)
def move_step(
    ctx: CtxDep, actor: ActorDep, policy_id: Id, number: StepNumber, body: StepMove
) -> PolicyRead:
    step_id = _step_id(ctx, actor, policy_id, number)
    policy_edits.move_step(ctx, actor, policy_id, step_id, body.offset)
    return get_policy(ctx, actor, policy_id)


@router.put(
    "/policies/{policy_id}/repeat",
    operation_id="setPolicyRepeat",
    summary="How often the steps run again, and how long an acknowledgement holds",
    response_model=PolicyRead,
    response_description="The policy with its new repeat and timeout.",
    responses=problem_responses(400, 403, 404, 422),
)
def set_repeat(
    ctx: CtxDep, actor: ActorDep, policy_id: Id, body: RepeatUpdate
) -> PolicyRead:
    policy_edits.set_repeat(
        ctx,
        actor,
        policy_id,
        repeat=body.repeat,
        ack_timeout_minutes=body.ack_timeout_minutes,
    )
    return get_policy(ctx, actor, policy_id)


@router.get(
    "/services/{service_id}/escalation-preview",
    operation_id="previewEscalation",
    summary="Who would be paged, and when, if the service alerted at an instant",
    response_model=EscalationPreview,
    response_description="Each step's firing with the users it would page.",
    responses=problem_responses(400, 404, 422),
)
def escalation_preview(
    ctx: CtxDep,
    actor: ActorDep,
    service_id: Id,
    at: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a UTC offset; default: now."),
    ] = None,
) -> EscalationPreview:
    """Assumes nobody acknowledges. Schedules are resolved at the instant
    each step would fire; maintenance windows hold steps until they end."""
    return preview.preview(ctx, actor, service_id, at)


@router.get(
    "/misconfigurations",
    operation_id="listMisconfigurations",
    summary="What would page nobody",
    response_model=MisconfigurationReport,
    response_description="Problems, with counts by kind.",
    responses=problem_responses(403),
)
def misconfigurations(ctx: CtxDep, actor: ActorDep) -> MisconfigurationReport:
    """Services without a policy, policies that reach no one, users without
    contact methods and schedules with gaps in the next 14 days, limited to
    the caller's teams unless they are an admin."""
    return misconfig.check(ctx, actor)


@router.post(
    "/incidents/{number}/snooze",
    operation_id="snoozeIncident",
    summary="Snooze an incident: quiet now, paged again when the snooze ends",
    response_model=IncidentRead,
    response_description="The incident, acknowledged until the snooze ends.",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
    tags=["incidents"],
)
def snooze(
    ctx: CtxDep, actor: ActorDep, number: Number, body: SnoozeCreate
) -> IncidentRead:
    """A triggered incident is acknowledged; when the snooze runs out and it is
    still acknowledged, it triggers again and its policy restarts."""
    return incidents.snooze(ctx, actor, number, body.minutes)


@router.post(
    "/incidents/{number}/escalation-policy",
    operation_id="reassignIncidentPolicy",
    summary="Hand an incident to another escalation policy, which starts at once",
    response_model=IncidentRead,
    response_description="The incident, triggered, escalating through the policy.",
    responses=problem_responses(400, 403, 404, 409, 413, 422),
    tags=["incidents"],
)
def reassign_policy(
    ctx: CtxDep, actor: ActorDep, number: Number, body: PolicyReassign
) -> IncidentRead:
    return incidents.reassign_policy(ctx, actor, number, body.policy_id)
