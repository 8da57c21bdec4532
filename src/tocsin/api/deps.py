"""Dependencies shared by API routes: the context and the authenticated actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tocsin.domain.access import Actor
from tocsin.errors import Unauthenticated
from tocsin.services import users
from tocsin.services.context import Context

_bearer = HTTPBearer(
    auto_error=False, description="An API token: `tocsin token create`"
)


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_actor(
    ctx: Annotated[Context, Depends(get_ctx)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The user behind the request's bearer token; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API token as 'Authorization: Bearer <token>'")
    return users.authenticate_token(ctx, credentials.credentials)


CtxDep = Annotated[Context, Depends(get_ctx)]
ActorDep = Annotated[Actor, Depends(get_actor)]
