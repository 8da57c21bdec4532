"""Routes about the caller: who the token stands for."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.api.deps import ActorDep, CtxDep
from tocsin.api.openapi import problem_responses
from tocsin.api.schemas import MeRead
from tocsin.services import users

router = APIRouter(tags=["users"])


@router.get(
    "/me",
    operation_id="getMe",
    summary="Who the token acts as",
    response_model=MeRead,
    response_description="The caller.",
    responses=problem_responses(),
)
def me(ctx: CtxDep, actor: ActorDep) -> MeRead:
    """The token's user, their role and teams, and the token itself."""
    return users.describe(ctx, actor)
