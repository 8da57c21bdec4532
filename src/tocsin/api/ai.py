"""Offline triage suggestions over the API: an incident's suggestions beside
its fields, accepting or overriding one, similar past incidents, training and
the report of how suggestions fare.

Routes parse and call one service function; authorisation and the audit trail
live in tocsin.services.suggestions and tocsin.services.similar_incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.services import drafts, similar_incidents, suggestions

router = APIRouter(tags=["ai"])

MAX_ID = 2**31 - 1
Number = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The incident's number, as in #42.")
]
FieldName = Annotated[
    Literal["severity", "incident_type", "service"],
    Path(description="The suggested field."),
]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SuggestionRead(_Read):
    field: str
    value: str = Field(description="The suggested value.")
    current: str | None = Field(description="The field's value now.")
    confidence: float = Field(description="From 0 to 1.")
    reasons: list[str] = Field(description="What drove the suggestion most.")
    source: str = Field(description="rules, synthetic or history.")
    outcome: str = Field(description="pending, accepted or overridden.")
    chosen: str | None = Field(description="What was decided, once decided.")


class SimilarIncidentRead(_Read):
    number: int
    title: str
    severity: str
    service: str
    resolved_at: datetime | None
    score: float = Field(description="Cosine similarity of the texts, 0 to 1.")
    notes: list[str] = Field(description="Findings, decisions, actions, pins.")
    postmortems: list[str]


class TrainedModelRead(_Read):
    id: int
    source: str
    examples: int
    history: int = Field(description="Resolved incidents among the examples.")
    fields: list[str] = Field(description="Fields the model suggests.")
    created_at: datetime


class ModelInUseRead(BaseModel):
    model: TrainedModelRead | None = Field(
        description="The newest trained model; null while the rules answer."
    )
    description: str = Field(
        description="Where suggestions come from, with when and on how many."
    )


class FieldReportRead(_Read):
    week: str = Field(description="ISO week of the suggestions, as 2026-W09.")
    field: str
    suggested: int
    decided: int
    accepted: int
    accept_rate: float | None
    judged: int = Field(
        description="Suggestions on incidents now resolved with a final value."
    )
    accuracy: float | None = Field(
        description="Share of judged suggestions equal to the final value: the"
        " incident's severity or type, or for a service the person's decision"
        " (an untyped incident or an undecided service is not judged)."
    )


class DraftRead(_Read):
    kind: str
    text: str = Field(description="To edit before posting; never sent by itself.")
    source: str = Field(description="template or endpoint.")
    fallback_reason: str = Field(
        description="Why the configured endpoint's draft was not used."
    )


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=200)


@router.get(
    "/incidents/{number}/suggestions",
    operation_id="listIncidentSuggestions",
    summary="Suggested severity, type and owning service, beside their values",
    response_model=list[SuggestionRead],
    responses=problem_responses(404, 422),
)
def list_suggestions(
    ctx: CtxDep, actor: ActorDep, number: Number
) -> list[SuggestionRead]:
    """Computed and stored on first read; later reads return the same."""
    found = suggestions.suggestions(ctx, actor, number)
    return [SuggestionRead.model_validate(item) for item in found]


@router.post(
    "/incidents/{number}/suggestions/{field}/accept",
    operation_id="acceptIncidentSuggestion",
    summary="Accept a suggestion (a severity or type is set on the incident)",
    response_model=SuggestionRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def accept(
    ctx: CtxDep, actor: ActorDep, number: Number, field: FieldName
) -> SuggestionRead:
    """A severity or incident type is set on the incident, on its timeline.
    A service is advice: the incident stays on its service (reassign its
    escalation policy to hand it over); the decision is recorded and judged."""
    view = suggestions.decide(ctx, actor, number, field)
    return SuggestionRead.model_validate(view)


@router.post(
    "/incidents/{number}/suggestions/{field}/override",
    operation_id="overrideIncidentSuggestion",
    summary="Override a suggestion (a severity or type is set on the incident)",
    response_model=SuggestionRead,
    responses=problem_responses(400, 403, 404, 409, 422),
)
def override(
    ctx: CtxDep, actor: ActorDep, number: Number, field: FieldName, body: OverrideIn
) -> SuggestionRead:
    view = suggestions.decide(ctx, actor, number, field, value=body.value)
    return SuggestionRead.model_validate(view)


@router.get(
    "/incidents/{number}/similar",
    operation_id="listSimilarIncidents",
    summary="Resolved incidents most like this one, with how they were resolved",
    response_model=list[SimilarIncidentRead],
    responses=problem_responses(400, 404, 422),
)
def similar(
    ctx: CtxDep,
    actor: ActorDep,
    number: Number,
    limit: Annotated[int, Query(ge=1, le=similar_incidents.MAX_LIMIT)] = 5,
) -> list[SimilarIncidentRead]:
    found = similar_incidents.similar(ctx, actor, number, limit=limit)
    return [SimilarIncidentRead.model_validate(item) for item in found]


@router.post(
    "/ai/train",
    operation_id="trainTriageModel",
    summary="Train the suggestion model now (admins)",
    response_model=TrainedModelRead,
    responses=problem_responses(403),
)
def train(ctx: CtxDep, actor: ActorDep) -> TrainedModelRead:
    return TrainedModelRead.model_validate(suggestions.train(ctx, actor))


@router.get(
    "/ai/model",
    operation_id="getTriageModel",
    summary="Where suggestions come from: the rules, synthetic set or history",
    response_model=ModelInUseRead,
    responses=problem_responses(403),
)
def model_in_use(ctx: CtxDep, actor: ActorDep) -> ModelInUseRead:
    model, description = suggestions.model_in_use(ctx, actor)
    read = TrainedModelRead.model_validate(model) if model else None
    return ModelInUseRead(model=read, description=description)


@router.get(
    "/ai/report",
    operation_id="getSuggestionReport",
    summary="Per week and field: accept rate and accuracy of suggestions",
    response_model=list[FieldReportRead],
    responses=problem_responses(400, 403, 422),
)
def report(
    ctx: CtxDep,
    actor: ActorDep,
    weeks: Annotated[int, Query(ge=1, le=520)] = 12,
) -> list[FieldReportRead]:
    rows = suggestions.report(ctx, actor, weeks=weeks)
    return [FieldReportRead.model_validate(row) for row in rows]


@router.get(
    "/incidents/{number}/drafts/{kind}",
    operation_id="draftIncidentText",
    summary="A draft update, summary or postmortem summary to edit",
    response_model=DraftRead,
    responses=problem_responses(400, 403, 404, 422),
)
def draft(
    ctx: CtxDep,
    actor: ActorDep,
    number: Number,
    kind: Annotated[Literal["update", "summary", "postmortem"], Path()],
) -> DraftRead:
    return DraftRead.model_validate(drafts.write(ctx, actor, number, kind))
