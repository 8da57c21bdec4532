"""Escalation policy pages: the policies a user can see, and one policy with
its steps, the editor for them, and the paging preview (if one of its
services alerted at an instant, who would be paged when).

Anyone who can see the policy's team reads it; admins and the team's
managers change it (the policy service's rule). Each change posts one form
and calls one service function, which locks the policy; a refusal re-renders
the page with the message and a 4xx. The preview's instant is in UTC, as on
the service page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.services import preview
from tocsin.services.catalog import MAX_DELAY_MINUTES, MAX_REPEAT, StepInput
from tocsin.services.catalog import policy_edits as policies
from tocsin.services.catalog.common import MAX_ACK_TIMEOUT_MINUTES
from tocsin.services.context import Context
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Escalation", "/escalation", order=45))

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=20)]
Names = Annotated[list[str], Form(max_length=50)]
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@router.get("/escalation")
def policy_list(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    found = policies.list_visible(ctx, user.actor)
    return render(request, "escalation/list.html", {"user": user, "policies": found})


@router.get("/escalation/{policy_id}")
def policy_page(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    policy_id: Id,
    service: Annotated[str | None, Query(max_length=20)] = None,
    at: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The policy, its editor, and the preview for `service` at `at` (UTC)."""
    return _page(request, ctx, user, policy_id, service=service, at=at)


@router.post("/escalation/{policy_id}/steps")
def add_step(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    policy_id: Id,
    delay_minutes: Short = "",
    users: Names = [],  # noqa: B006 - FastAPI copies defaults per request
    schedules: Names = [],  # noqa: B006
    teams: Names = [],  # noqa: B006
    round_robin: Short = "",
) -> Response:
    typed = _typed(delay_minutes, users, schedules, teams, round_robin)
    try:
        step = _step(typed)
        policies.add_step(ctx, user.actor, policy_id, step)
    except (InvalidInput, NotFound, Conflict) as error:
        return _refused(request, ctx, user, policy_id, error, new_step=typed)
    return _back(policy_id, "steps")


@router.post("/escalation/{policy_id}/steps/{step_id}")
def edit_step(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    policy_id: Id,
    step_id: Id,
    delay_minutes: Short = "",
    users: Names = [],  # noqa: B006
    schedules: Names = [],  # noqa: B006
    teams: Names = [],  # noqa: B006
    round_robin: Short = "",
) -> Response:
    typed = _typed(delay_minutes, users, schedules, teams, round_robin)
    try:
        step = _step(typed)
        policies.edit_step(ctx, user.actor, policy_id, step_id, step)
    except (InvalidInput, NotFound, Conflict) as error:
        return _refused(request, ctx, user, policy_id, error, editing=(step_id, typed))
    return _back(policy_id, f"step-{step_id}")


@router.post("/escalation/{policy_id}/steps/{step_id}/delete")
def remove_step(
    request: Request, ctx: CtxDep, user: FormUserDep, policy_id: Id, step_id: Id
) -> Response:
    try:
        policies.remove_step(ctx, user.actor, policy_id, step_id)
    except (InvalidInput, NotFound) as error:
        return _refused(request, ctx, user, policy_id, error)
    return _back(policy_id, "steps")


@router.post("/escalation/{policy_id}/steps/{step_id}/move")
def move_step(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    policy_id: Id,
    step_id: Id,
    direction: Short = "",
) -> Response:
    offsets = {"up": -1, "down": 1}
    try:
        if direction not in offsets:
            raise InvalidInput("a step moves up or down")
        policies.move_step(ctx, user.actor, policy_id, step_id, offsets[direction])
    except (InvalidInput, NotFound) as error:
        return _refused(request, ctx, user, policy_id, error)
    return _back(policy_id, f"step-{step_id}")


@router.post("/escalation/{policy_id}/repeat")
def set_repeat(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    policy_id: Id,
    repeat: Short = "",
    ack_timeout_minutes: Short = "",
) -> Response:
    typed = {"repeat": repeat, "ack_timeout_minutes": ack_timeout_minutes}
    try:
        policies.set_repeat(
            ctx,
            user.actor,
            policy_id,
            repeat=_whole(repeat, "the repeat count", 0, MAX_REPEAT),
            ack_timeout_minutes=(
                _whole(
                    ack_timeout_minutes,
                    "the acknowledgement timeout",
                    1,
                    MAX_ACK_TIMEOUT_MINUTES,
                )
                if ack_timeout_minutes.strip()
                else None
            ),
        )
    except InvalidInput as error:
        return _refused(request, ctx, user, policy_id, error, settings=typed)
    return _back(policy_id, "settings")


# Rendering ----------------------------------------------------------------------


def _page(
    request: Request,
    ctx: Context,
    user: WebUser,
    policy_id: int,
    *,
    service: str | None = None,
    at: str | None = None,
    problem: str | None = None,
    status: int = 200,
    **typed: Any,
) -> Response:
    policy = policies.get_visible(ctx, user.actor, policy_id)
    now = ctx.clock.now()
    instant = now
    chosen = policy.services[0].id if policy.services else None
    preview_problem = None
    result = None
    try:
        if service:
            chosen = _service_choice(service, [s.id for s in policy.services])
        if at:
            instant = _instant(at)
        if chosen is not None:
            result = preview.preview(ctx, user.actor, chosen, instant)
    except InvalidInput as error:
        preview_problem = error.detail
        status = max(status, 400)

    context: dict[str, Any] = {
        "user": user,
        "policy": policy,
        "choices": policies.target_choices(ctx, user.actor)
        if policy.may_edit
        else None,
        "problem": problem,
        "preview": result,
        "preview_problem": preview_problem,
        "service_id": chosen,
        "at": instant.astimezone(UTC).strftime(LOCAL_FORMAT),
        "new_step": typed.get("new_step") or _typed("5", [], [], [], ""),
        "editing": typed.get("editing"),
        "adding": "new_step" in typed,
        "settings": typed.get("settings")
        or {
            "repeat": str(policy.repeat),
            "ack_timeout_minutes": str(policy.ack_timeout_minutes or ""),
        },
        "max_delay": MAX_DELAY_MINUTES,
        "max_repeat": MAX_REPEAT,
        "max_ack": MAX_ACK_TIMEOUT_MINUTES,
    }
    return render(request, "escalation/detail.html", context, status_code=status)


def _refused(
    request: Request,
    ctx: Context,
    user: WebUser,
    policy_id: int,
    error: InvalidInput | NotFound | Conflict,
    **typed: Any,
) -> Response:
    """The page again with the service's reason. A NotFound about the policy
    itself becomes the 404 page when the page reads the policy."""
    status = 409 if isinstance(error, Conflict) else 400
    return _page(
        request, ctx, user, policy_id, problem=error.detail, status=status, **typed
    )


def _back(policy_id: int, anchor: str) -> Response:
    return RedirectResponse(f"/escalation/{policy_id}#{anchor}", status_code=303)


# Parsing ------------------------------------------------------------------------


def _typed(
    delay: str, users: list[str], schedules: list[str], teams: list[str], rr: str
) -> dict[str, Any]:
    return {
        "delay_minutes": delay,
        "users": [u for u in users if u.strip()],
        "schedules": [s for s in schedules if s.strip()],
        "teams": [t for t in teams if t.strip()],
        "round_robin": rr == "on",
    }


def _step(typed: dict[str, Any]) -> StepInput:
    return StepInput(
        delay_minutes=_whole(typed["delay_minutes"], "the delay", 0, MAX_DELAY_MINUTES),
        emails=tuple(typed["users"]),
        schedules=tuple(typed["schedules"]),
        teams=tuple(typed["teams"]),
        round_robin=typed["round_robin"],
    )


def _whole(value: str, what: str, low: int, high: int) -> int:
    value = value.strip()
    if not plain_digits(value) or not low <= int(value) <= high:
        raise InvalidInput(f"{what} is a whole number from {low} to {high}")
    return int(value)


def _service_choice(value: str, allowed: list[int]) -> int:
    value = value.strip()
    if not plain_digits(value) or int(value) not in allowed:
        raise InvalidInput("choose one of the policy's services")
    return int(value)


def _instant(value: str) -> datetime:
    """A datetime-local field's value, read as UTC."""
    try:
        parsed = datetime.strptime(value.strip(), LOCAL_FORMAT)  # noqa: DTZ007
    except ValueError as error:
        raise InvalidInput("give the instant as YYYY-MM-DDTHH:MM (UTC)") from error
    return parsed.replace(tzinfo=UTC)
