"""Status page administration: subscribers, /status-admin/subscribers.

Their addresses are personal data, so even the list needs the managing role
(the service refuses others with 403), as in the API. A removed address gets
no more mail; it can subscribe again from the public page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.services import status_subscribers
from tocsin.services.status_reads import MAX_ID
from tocsin.web.auth import FormUserDep, UserDep
from tocsin.web.status_admin_forms import page

router = APIRouter()

HOME = "/status-admin/subscribers"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/status-admin/subscribers")
def subscribers_page(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    """Every address, confirmed or pending, with the counts."""
    subscribers = status_subscribers.list_subscribers(ctx, user.actor)
    confirmed = [s for s in subscribers if s.confirmed_at is not None]
    context = {
        "subscribers": subscribers,
        "confirmed": len(confirmed),
        "pending": len(subscribers) - len(confirmed),
    }
    return page(request, user, "status_admin/subscribers.html", "subscribers", context)


@router.post("/status-admin/subscribers/{subscriber_id}/remove")
def remove(ctx: CtxDep, user: FormUserDep, subscriber_id: Id) -> Response:
    """Remove the subscriber; one already gone is a 404."""
    status_subscribers.remove_subscriber(ctx, user.actor, subscriber_id)
    return RedirectResponse(HOME, status_code=303)
