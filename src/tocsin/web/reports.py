"""Report pages: the public customer form, and for logged-in people the
staff form, the list of reports and the triage of one report.

The public form has no session and so no CSRF token; it carries a signed,
time-limited form token instead, a honeypot field people never see, and the
service's rate limit per client address.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.api.deps import CtxDep
from tocsin.digits import plain_digits
from tocsin.domain.triage import ReportStatus
from tocsin.errors import Forbidden, InvalidInput, NotFound
from tocsin.services import declaration, reports, triage
from tocsin.services.reports import ReportFilter
from tocsin.web.auth import FormUserDep, UserDep
from tocsin.web.templating import render

router = APIRouter()

PAGE_SIZE = 50
MAX_ID = 2**31 - 1
HONEYPOT = "website"
_REFERENCE = re.compile(r"R-[0-9]{1,10}")


# --- public form -------------------------------------------------------------------


@router.get("/report")
def public_form(request: Request, ctx: CtxDep) -> Response:
    return _public_form(request, ctx)


@router.post("/report")
def public_submit(
    request: Request,
    ctx: CtxDep,
    form_token: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",
) -> Response:
    """Refuses (400) a form whose honeypot is filled: only software fills a
    field nobody can see."""
    values = {
        "title": title,
        "description": description,
        "name": name,
        "email": email,
    }
    if website:
        return _public_form(
            request,
            ctx,
            values,
            "This form could not be accepted. Please try again.",
            status_code=400,
        )

    client = request.client.host if request.client else "unknown"
    try:
        receipt = reports.report_as_customer(
            ctx,
            client_address=client,
            form_token=form_token[:200],
            title=title,
            description=description,
            reporter_name=name,
            reporter_email=email,
        )
    except (InvalidInput, Forbidden) as error:
        return _public_form(
            request, ctx, values, error.detail, status_code=error.status_code
        )

    return RedirectResponse(
        f"/report/thanks?reference={receipt.reference}", status_code=303
    )


@router.get("/report/thanks")
def public_thanks(
    request: Request, reference: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    if not _REFERENCE.fullmatch(reference):
        raise NotFound("no such report reference")
    return render(request, "reports/thanks.html", {"reference": reference})


def _public_form(
    request: Request,
    ctx: CtxDep,
    values: dict[str, str] | None = None,
    error: str | None = None,
    *,
    status_code: int = 200,
) -> Response:
    context = {
        "form_token": reports.form_token(ctx),
        "values": values or {"title": "", "description": "", "name": "", "email": ""},
        "error": error,
        "honeypot": HONEYPOT,
        "max_title": reports.MAX_TITLE,
        "max_description": reports.MAX_DESCRIPTION,
    }
    return render(request, "reports/public.html", context, status_code=status_code)


# --- staff -----------------------------------------------------------------------


@router.get("/reports")
def report_list(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    status: Annotated[str, Query(max_length=20)] = "untriaged",
) -> Response:
    """Untriaged reports by default; `status=all` for every one."""
    wanted: tuple[str, ...] = () if status == "all" else (status,)
    page = reports.list_reports(
        ctx, user.actor, ReportFilter(status=wanted, limit=PAGE_SIZE)
    )
    tabs = [("Waiting", "untriaged")] + [
        (label, value)
        for label, value in (
            ("Declared", ReportStatus.DECLARED.value),
            ("Dismissed", ReportStatus.DISMISSED.value),
            ("All", "all"),
        )
    ]
    context = {"user": user, "page": page, "status": status, "tabs": tabs}
    return render(request, "reports/list.html", context)


@router.get("/reports/new")
def staff_form(request: Request, ctx: CtxDep, user: UserDep) -> Response:
    return _staff_form(request, ctx, user)


@router.post("/reports")
def staff_submit(
    request: Request,
    ctx: CtxDep,
    user: FormUserDep,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    service_id: Annotated[str, Form()] = "",
) -> Response:
    values = {"title": title, "description": description, "service_id": service_id}
    try:
        report = reports.report_as_staff(
            ctx,
            user.actor,
            title=title,
            description=description,
            service_id=_optional_id(service_id, "service"),
        )
    except InvalidInput as error:
        return _staff_form(request, ctx, user, values, error.detail)

    return RedirectResponse(f"/reports/{report.id}", status_code=303)


@router.get("/reports/{report_id:int}")
def report_detail(
    request: Request, ctx: CtxDep, user: UserDep, report_id: int
) -> Response:
    report = reports.get_report(ctx, user.actor, _bounded(report_id))
    context = {
        "user": user,
        "report": report,
        "severities": triage.scales(ctx).severity,
        "types": triage.list_types(ctx, include_inactive=False),
        "services": reports.service_choices(ctx, user.actor),
        "error": None,
    }
    return render(request, "reports/detail.html", context)


@router.post("/reports/{report_id:int}/dismiss")
def report_dismiss(
    ctx: CtxDep,
    user: FormUserDep,
    report_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    reports.dismiss(ctx, user.actor, _bounded(report_id), reason)
    return RedirectResponse(f"/reports/{report_id}", status_code=303)


@router.post("/reports/{report_id:int}/declare")
def report_declare(
    ctx: CtxDep,
    user: FormUserDep,
    report_id: int,
    reason: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    incident_type: Annotated[str, Form()] = "",
    service_id: Annotated[str, Form()] = "",
) -> Response:
    incident = declaration.declare_report(
        ctx,
        user.actor,
        _bounded(report_id),
        reason=reason,
        severity=severity or None,
        incident_type=incident_type or None,
        service_id=_optional_id(service_id, "service"),
    )
    return RedirectResponse(f"/incidents/{incident.number}", status_code=303)


def _staff_form(
    request: Request,
    ctx: CtxDep,
    user: UserDep,
    values: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    context = {
        "user": user,
        "services": reports.service_choices(ctx, user.actor),
        "values": values or {"title": "", "description": "", "service_id": ""},
        "error": error,
        "max_title": reports.MAX_TITLE,
        "max_description": reports.MAX_DESCRIPTION,
    }
    return render(
        request,
        "reports/new.html",
        context,
        status_code=400 if error else 200,
    )


def _optional_id(value: str, what: str) -> int | None:
    if not value:
        return None
    if not plain_digits(value) or not 1 <= int(value) <= MAX_ID:
        raise InvalidInput(f"choose a {what} from the list")
    return int(value)


def _bounded(report_id: int) -> int:
    if not 1 <= report_id <= MAX_ID:
        raise NotFound(f"no report R-{report_id}")
    return report_id
