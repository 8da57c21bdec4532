"""Pages for the feedback survey a participant is sent after resolution.

The signed link is the credential (see services/feedback.py), so the survey
works without logging in. Like the action-link pages, opening the link
changes nothing; only the form's post stores an answer, and the pages keep the
URL out of Referer headers and caches.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tocsin.api.deps import CtxDep
from tocsin.services import feedback
from tocsin.web.templating import render

router = APIRouter()

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
Rating = Annotated[int, Form(ge=1, le=5)]


@router.get("/feedback/{token}")
def survey(request: Request, ctx: CtxDep, token: str) -> Response:
    """The survey form, or a note that it was answered already."""
    found = feedback.survey(ctx, token)

    return render(
        request, "postmortems/survey.html", {"survey": found}, headers=PRIVATE
    )


@router.post("/feedback/{token}")
def answer(
    request: Request,
    ctx: CtxDep,
    token: str,
    rating_overall: Rating,
    rating_tools: Rating,
    rating_communication: Rating,
    went_well: Annotated[str, Form(max_length=5000)] = "",
    hindered: Annotated[str, Form(max_length=5000)] = "",
    anonymous: Annotated[bool, Form()] = False,
) -> Response:
    """Store the answer and thank the participant."""
    feedback.answer(
        ctx,
        token,
        feedback.Answer(
            went_well=went_well,
            hindered=hindered,
            rating_overall=rating_overall,
            rating_tools=rating_tools,
            rating_communication=rating_communication,
            anonymous=anonymous,
        ),
    )

    return render(
        request,
        "postmortems/thanks.html",
        {"anonymous": anonymous},
        headers=PRIVATE,
    )
