"""How you are paged, from your profile: your contact methods (add, remove,
send a test) and your notification rules (which method, how many minutes
after a page starts).

Everything goes through the same services as the API's
`/api/v1/users/{id}/contact-methods` and `.../notification-rules`, so the
checks (address formats, the last contact method kept, a delay within a day)
are theirs. A refusal shows the page again with the reason and what was
typed, with the service's 4xx status.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.channels import registry
from tocsin.digits import plain_digits
from tocsin.errors import Conflict, InvalidInput, NotFound, TocsinError
from tocsin.services import contacts, notification_rules
from tocsin.services.context import Context
from tocsin.web.auth import FormUserDep, UserDep, WebUser
from tocsin.web.templating import render

router = APIRouter()

PAGE = "/profile/paging"
TYPED_FIELDS = ("kind", "address", "label", "contact_method_id", "delay_minutes")
RowId = Annotated[int, Path(ge=1, le=contacts.MAX_ID)]


@router.get(PAGE)
def paging_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _page(request, ctx, user)


@router.post(f"{PAGE}/contacts")
def add_contact(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    kind: Annotated[str, Form(max_length=40)] = "",
    address: Annotated[str, Form(max_length=2000)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Add a contact method; a webhook's signing secret is shown this once."""
    typed = {"kind": kind, "address": address, "label": label}
    try:
        made = contacts.add_contact(
            ctx, user.actor, _me(user), kind=kind, address=address, label=label
        )
    except (InvalidInput, Conflict) as error:
        return _page(request, ctx, user, contact_error=error, typed=typed)
    if made.signing_secret:
        return _page(request, ctx, user, new_secret=made.signing_secret, status=201)
    return _back()


@router.post(f"{PAGE}/contacts/{{contact_id}}/remove")
def remove_contact(
    request: Request, ctx: CtxDep, user: FormUserDep, contact_id: RowId
) -> Response:
    try:
        contacts.remove_contact(ctx, user.actor, _me(user), contact_id)
    except Conflict as error:
        return _page(request, ctx, user, contact_error=error)
    return _back()


@router.post(f"{PAGE}/contacts/{{contact_id}}/test")
def send_test(
    request: Request, ctx: CtxDep, user: FormUserDep, contact_id: RowId
) -> Response:
    """Queue a test message; the worker sends it like a page."""
    contacts.send_test(ctx, user.actor, _me(user), contact_id)
    return _page(request, ctx, user, tested=contact_id)


@router.post(f"{PAGE}/rules")
def add_rule(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    contact_method_id: Annotated[str, Form(max_length=20)] = "",
    delay_minutes: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    typed = {"contact_method_id": contact_method_id, "delay_minutes": delay_minutes}
    try:
        notification_rules.add_rule(
            ctx,
            user.actor,
            _me(user),
            contact_method_id=_number(contact_method_id, "choose a contact method"),
            delay_minutes=_number(delay_minutes, "the delay is a number of minutes"),
        )
    except (InvalidInput, Conflict, NotFound) as error:
        return _page(request, ctx, user, rule_error=error, typed=typed)
    return _back()


@router.post(f"{PAGE}/rules/{{rule_id}}/remove")
def remove_rule(ctx: CtxDep, user: FormUserDep, rule_id: RowId) -> Response:
    notification_rules.remove_rule(ctx, user.actor, _me(user), rule_id)
    return _back()


def _me(user: WebUser) -> int:
    if user.actor.user_id is None:
        raise NotFound("this page is for people with an account")
    return user.actor.user_id


def _number(text: str, problem: str) -> int:
    text = text.strip()
    if not plain_digits(text) or len(text) > 9:
        raise InvalidInput(problem)
    return int(text)


def _back() -> Response:
    return RedirectResponse(PAGE, status_code=303)


def _page(
    request: Request,
    ctx: Context,
    user: WebUser,
    *,
    contact_error: TocsinError | None = None,
    rule_error: TocsinError | None = None,
    typed: dict[str, str] | None = None,
    new_secret: str | None = None,
    tested: int | None = None,
    status: int = 200,
) -> Response:
    me = _me(user)
    error = contact_error or rule_error
    context: dict[str, Any] = {
        "user": user,
        "contacts": contacts.list_contacts(ctx, user.actor, me),
        "rules": notification_rules.list_rules(ctx, user.actor, me),
        "kinds": registry.kinds(),
        "contact_error": contact_error.detail if contact_error else None,
        "rule_error": rule_error.detail if rule_error else None,
        "typed": dict.fromkeys(TYPED_FIELDS, "") | (typed or {}),
        "new_secret": new_secret,
        "tested": tested,
        "max_delay": notification_rules.MAX_DELAY_MINUTES,
    }
    code = error.status_code if error else status
    headers = {"Cache-Control": "no-store"} if new_secret else None
    return render(
        request, "accounts/paging.html", context, status_code=code, headers=headers
    )
