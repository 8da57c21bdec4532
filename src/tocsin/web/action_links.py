"""Pages for the acknowledge and resolve links in paging emails.

Opening a link only shows what it would do: mail scanners and link previews
fetch links before people click them. The button on that page posts back to
the same URL, and only the post acts. The link's signature is the credential,
so these pages work without logging in; they must never leak the URL, hence
no Referer and no caching.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.services import link_actions
from tocsin.web.templating import render

router = APIRouter()

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}

# (button label, past tense) per link action.
WORDS = {
    "acknowledge": ("Acknowledge", "acknowledged"),
    "resolve": ("Resolve", "resolved"),
}


@router.get("/a/{token}")
def confirm(request: Request, ctx: CtxDep, token: str) -> Response:
    """Show what the link would do, with a button that does it. Changes nothing."""
    preview = link_actions.preview(ctx, token)

    verb, done = WORDS[preview.action]
    context = {"preview": preview, "verb": verb, "done": done}
    return render(request, "links/confirm.html", context, headers=PRIVATE)


@router.post("/a/{token}")
def carry_out(request: Request, ctx: CtxDep, token: str) -> Response:
    """Do what the link says, as the user it was sent to, and say what happened."""
    outcome = link_actions.carry_out(ctx, token)

    verb, done = WORDS[outcome.action]
    context = {"outcome": outcome, "verb": verb, "done": done}
    return render(request, "links/done.html", context, headers=PRIVATE)
