"""Postmortem pages: the list, the published view with its review, the
editor with a live preview, the action items across incidents, and the
feedback survey a participant is sent after resolution.

The survey's signed link is the credential (see services/feedback.py), so it
works without logging in. Like the action-link pages, opening the link
changes nothing; only the form's post stores an answer, and the pages keep the
URL out of Referer headers and caches. Every other page needs a login and
every post its CSRF token (FormUserDep).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin import markdown
from tocsin.api.deps import CtxDep
from tocsin.api.schemas import MAX_ID
from tocsin.domain.postmortems import SECTIONS
from tocsin.errors import InvalidInput, NotFound
from tocsin.services import action_items, feedback, postmortem_review, postmortems
from tocsin.services.incident_scope import ids_by_name
from tocsin.web.auth import FormUserDep, UserDep
from tocsin.web.navigation import NAVIGATION, NavItem
from tocsin.web.templating import render

router = APIRouter()
NAVIGATION.append(NavItem("Postmortems", "/postmortems", order=60))

PmId = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str, Form(max_length=100_000)]

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


# Postmortems ---------------------------------------------------------------


@router.get("/postmortems")
def postmortem_list(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    found = postmortems.list_postmortems(ctx, user.actor, status=status or None)

    context = {"user": user, "postmortems": found, "status": status or ""}
    return render(request, "postmortems/list.html", context)


@router.get("/postmortems/{postmortem_id:int}")
def postmortem_view(
    request: Request, ctx: CtxDep, user: UserDep, postmortem_id: PmId
) -> Response:
    """The postmortem as it reads, with its review and the forms to move it."""
    read = postmortems.get(ctx, user.actor, postmortem_id)

    context = {
        "user": user,
        "pm": read,
        "document": markdown.render(postmortems.as_markdown(read)),
        "is_reviewer": any(r.user.id == user.actor.user_id for r in read.reviewers),
    }
    return render(request, "postmortems/view.html", context)


# What each download is: the format the service writes and its media type.
EXPORTS = {
    "md": ("markdown", "text/markdown; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "pdf": ("pdf", "application/pdf"),
}


@router.get("/postmortems/{postmortem_id:int}/export.{kind}")
def postmortem_export(
    ctx: CtxDep, user: UserDep, postmortem_id: PmId, kind: str
) -> Response:
    """The export the API gives, with the login alone (the page's links). The
    HTML is an attachment under a policy that loads and runs nothing."""
    if kind not in EXPORTS:
        raise NotFound("export as md, html or pdf")
    fmt, media = EXPORTS[kind]
    content: str | bytes
    if fmt == "pdf":
        content = postmortems.export_pdf(ctx, user.actor, postmortem_id)
    else:
        content = postmortems.export(
            ctx, user.actor, postmortem_id, "html" if fmt == "html" else "markdown"
        )

    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": (
                f'attachment; filename="postmortem-{postmortem_id}.{kind}"'
            ),
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/postmortems/{postmortem_id:int}/edit")
def postmortem_editor(
    request: Request, ctx: CtxDep, user: UserDep, postmortem_id: PmId
) -> Response:
    read = postmortems.get(ctx, user.actor, postmortem_id)

    previews = {key: markdown.render(read.sections[key]) for key, _ in SECTIONS}
    whys = read.five_whys + [""] * (5 - len(read.five_whys))
    context = {
        "user": user,
        "pm": read,
        "sections": SECTIONS,
        "previews": previews,
        "whys": whys,
    }
    return render(request, "postmortems/edit.html", context)


@router.post("/postmortems/{postmortem_id:int}/edit")
def postmortem_save(
    ctx: CtxDep,
    user: FormUserDep,
    postmortem_id: PmId,
    title: Annotated[str, Form(max_length=500)],
    summary: Text = "",
    impact: Text = "",
    timeline: Text = "",
    root_causes: Text = "",
    contributing_factors: Text = "",
    went_well: Text = "",
    went_poorly: Text = "",
    lessons: Text = "",
    why: Annotated[list[str] | None, Form(max_length=5)] = None,
) -> Response:
    sections = {
        "summary": summary,
        "impact": impact,
        "timeline": timeline,
        "root_causes": root_causes,
        "contributing_factors": contributing_factors,
        "went_well": went_well,
        "went_poorly": went_poorly,
        "lessons": lessons,
    }
    postmortems.update(
        ctx,
        user.actor,
        postmortem_id,
        title=title,
        sections=sections,
        five_whys=[w for w in (why or []) if w.strip()],
    )

    return _back_to(postmortem_id)


@router.post("/postmortems/preview")
def preview(
    user: FormUserDep,
    section: Annotated[str, Query(max_length=40)],
    summary: Text = "",
    impact: Text = "",
    timeline: Text = "",
    root_causes: Text = "",
    contributing_factors: Text = "",
    went_well: Text = "",
    went_poorly: Text = "",
    lessons: Text = "",
) -> HTMLResponse:
    """The editor's live preview (an htmx partial): one section, sanitised."""
    given = {
        "summary": summary,
        "impact": impact,
        "timeline": timeline,
        "root_causes": root_causes,
        "contributing_factors": contributing_factors,
        "went_well": went_well,
        "went_poorly": went_poorly,
        "lessons": lessons,
    }
    if section not in given:
        raise InvalidInput(f"unknown section {section!r}")
    return HTMLResponse(postmortems.preview(given[section]))


@router.post("/postmortems/{postmortem_id:int}/comment")
def comment(
    ctx: CtxDep,
    user: FormUserDep,
    postmortem_id: PmId,
    text: Annotated[str, Form(max_length=10_000)],
) -> Response:
    postmortem_review.comment(ctx, user.actor, postmortem_id, text)
    return _back_to(postmortem_id)


@router.post("/postmortems/{postmortem_id:int}/submit")
def submit(
    ctx: CtxDep,
    user: FormUserDep,
    postmortem_id: PmId,
    reviewers: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Reviewers by email, separated by commas or spaces."""
    emails = [e for e in reviewers.replace(",", " ").split() if e]
    ids = [ids_by_name(ctx, email=email) or 0 for email in emails]
    postmortem_review.submit(ctx, user.actor, postmortem_id, ids)
    return _back_to(postmortem_id)


@router.post("/postmortems/{postmortem_id:int}/{move}")
def move(
    ctx: CtxDep,
    user: FormUserDep,
    postmortem_id: PmId,
    move: Annotated[str, Path(pattern="^(approve|publish|reopen)$")],
) -> Response:
    moves = {
        "approve": postmortem_review.approve,
        "publish": postmortem_review.publish,
        "reopen": postmortem_review.reopen,
    }
    moves[move](ctx, user.actor, postmortem_id)
    return _back_to(postmortem_id)


@router.get("/action-items")
def action_item_list(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    status: Annotated[str, Query(max_length=20)] = "pending",
    overdue: bool = False,
) -> Response:
    """Action items across every incident the user may see."""
    found = action_items.list_all(
        ctx, user.actor, status=status or None, overdue=overdue
    )

    context = {"user": user, "items": found, "status": status, "overdue": overdue}
    return render(request, "postmortems/action_items.html", context)


def _back_to(postmortem_id: int) -> RedirectResponse:
    return RedirectResponse(f"/postmortems/{postmortem_id}", status_code=303)
